/*
 * Facts kmemtop needs from the kernel's BTF at run time, read through
 * libbpf's BTF API.
 */
import { raw, readMemory, Ptr } from './libbpf';

const BTF_KIND_VAR = 14;
const BTF_KIND_DATASEC = 15;
/* struct btf_type: name_off, info, size/type (3 x u32); then vlen x struct btf_var_secinfo (type, offset, size). */
const BTF_TYPE_SIZE = 12;
const SECINFO_SIZE = 12;

/* Offsets of variables within a DATASEC, by name; null where a name is absent. */
export function datasecOffsets(btfPath: string, section: string, vars: string[]): Record<string, number | null> {
  const out: Record<string, number | null> = Object.fromEntries(vars.map((v) => [v, null]));
  const btf = raw.btf__parse(btfPath, null) as Ptr | null;
  if (!btf) return out;
  try {
    const sec = raw.btf__find_by_name_kind(btf, section, BTF_KIND_DATASEC);
    if (sec <= 0) return out;
    const ids = new Map<number, string>();
    for (const v of vars) {
      const id = raw.btf__find_by_name_kind(btf, v, BTF_KIND_VAR);
      if (id > 0) ids.set(id, v);
    }
    const t = raw.btf__type_by_id(btf, sec) as Ptr;
    const vlen = readMemory(t, BTF_TYPE_SIZE).readUInt32LE(4) & 0xffff;
    const secinfo = readMemory(t + BigInt(BTF_TYPE_SIZE), vlen * SECINFO_SIZE);
    for (let i = 0; i < vlen; i++) {
      const name = ids.get(secinfo.readUInt32LE(i * SECINFO_SIZE));
      if (name) out[name] = secinfo.readUInt32LE(i * SECINFO_SIZE + 4);
    }
    return out;
  } finally {
    raw.btf__free(btf);
  }
}

/*
 * &runqueues - &__preempt_count within the per-CPU section (may be
 * negative): the BPF side finds this CPU's preempt_count that far below
 * this CPU's runqueue.  0 when either variable is missing (the context is
 * then reported as unknown).
 */
export function preemptCountDelta(btfPath: string): number {
  const o = datasecOffsets(btfPath, '.data..percpu', ['runqueues', '__preempt_count']);
  if (o.runqueues === null || o.__preempt_count === null) return 0;
  return o.runqueues - o.__preempt_count;
}

const BTF_KIND_FUNC = 12;

/* Whether the kernel's BTF declares a function (a kfunc's presence, e.g. bpf_get_kmem_cache). */
export function hasFunction(btfPath: string, name: string): boolean {
  const btf = raw.btf__parse(btfPath, null) as Ptr | null;
  if (!btf) return false;
  try {
    return raw.btf__find_by_name_kind(btf, name, BTF_KIND_FUNC) > 0;
  } finally {
    raw.btf__free(btf);
  }
}

const BTF_KIND_ENUM = 6;
/* struct btf_enum: name_off, val (2 x u32), after the btf_type. */
const ENUM_SIZE = 8;

/*
 * The enumerators of the kernel's first enum whose first enumerator's name
 * starts with prefix (e.g. the anonymous enum of ___GFP_*_BIT), by name;
 * empty when there is none.  Walks every type once (tens of ms).
 */
export function enumByPrefix(btfPath: string, prefix: string): Map<string, number> {
  return findEnum(btfPath, (_name, first) => first.startsWith(prefix));
}

/* The enumerators of the kernel's enum of that name (e.g. compact_result), by name; empty when there is none. */
export function enumNamed(btfPath: string, name: string): Map<string, number> {
  return findEnum(btfPath, (n) => n === name);
}

function findEnum(btfPath: string, match: (name: string, firstEnumerator: string) => boolean): Map<string, number> {
  const out = new Map<string, number>();
  const btf = raw.btf__parse(btfPath, null) as Ptr | null;
  if (!btf) return out;
  try {
    const n = raw.btf__type_cnt(btf) as number;
    for (let id = 1; id < n; id++) {
      const t = raw.btf__type_by_id(btf, id) as Ptr;
      const head = readMemory(t, BTF_TYPE_SIZE);
      const info = head.readUInt32LE(4);
      if (((info >>> 24) & 0x1f) !== BTF_KIND_ENUM) continue;
      const vlen = info & 0xffff;
      if (!vlen) continue;
      const entries = readMemory(t + BigInt(BTF_TYPE_SIZE), vlen * ENUM_SIZE);
      const first = raw.btf__name_by_offset(btf, entries.readUInt32LE(0)) as string | null;
      const own = (raw.btf__name_by_offset(btf, head.readUInt32LE(0)) as string | null) ?? '';
      if (!first || !match(own, first)) continue;
      for (let i = 0; i < vlen; i++) {
        const name = raw.btf__name_by_offset(btf, entries.readUInt32LE(i * ENUM_SIZE)) as string | null;
        if (name) out.set(name, entries.readInt32LE(i * ENUM_SIZE + 4));
      }
      return out;
    }
    return out;
  } finally {
    raw.btf__free(btf);
  }
}
