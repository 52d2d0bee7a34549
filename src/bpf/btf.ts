/*
 * Facts kmemtop needs from the kernel's BTF at run time, read through
 * libbpf's BTF API.
 */
import { raw, readMemory, Ptr } from './libbpf';

/*
 * The kernel's BTF, parsed once per process and path (a parse of vmlinux
 * takes tens of ms, and every command asks it several questions); kept
 * until the process exits.
 */
const parsed = new Map<string, Ptr | null>();
function btfOf(btfPath: string): Ptr | null {
  if (!parsed.has(btfPath)) parsed.set(btfPath, (raw.btf__parse(btfPath, null) as Ptr | null) ?? null);
  return parsed.get(btfPath)!;
}

const BTF_KIND_VAR = 14;
const BTF_KIND_DATASEC = 15;
/* struct btf_type: name_off, info, size/type (3 x u32); then vlen x struct btf_var_secinfo (type, offset, size). */
const BTF_TYPE_SIZE = 12;
const SECINFO_SIZE = 12;

/* Offsets of variables within a DATASEC, by name; null where a name is absent. */
export function datasecOffsets(btfPath: string, section: string, vars: string[]): Record<string, number | null> {
  const out: Record<string, number | null> = Object.fromEntries(vars.map((v) => [v, null]));
  const btf = btfOf(btfPath);
  if (!btf) return out;
  {
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
  }
}

/*
 * &runqueues - &preempt_count within the per-CPU section (may be
 * negative): the BPF side finds this CPU's preempt_count that far below
 * this CPU's runqueue.  x86 keeps preempt_count in the per-CPU variable
 * __preempt_count (Debian 12's 6.1, 6.18), but some kernels keep it as a
 * member of the per-CPU struct pcpu_hot instead (Debian 13's 6.12: x86
 * gathered its hot per-CPU fields there for a few releases).  0 when
 * neither is found (the context is then reported as unknown).
 */
export function preemptCountDelta(btfPath: string): number {
  const o = datasecOffsets(btfPath, '.data..percpu', ['runqueues', '__preempt_count', 'pcpu_hot']);
  if (o.runqueues === null) return 0;
  if (o.__preempt_count !== null) return o.runqueues - o.__preempt_count;
  const inHot = o.pcpu_hot === null ? null : memberOffset(btfPath, 'pcpu_hot', 'preempt_count');
  if (o.pcpu_hot === null || inHot === null) return 0;
  return o.runqueues - (o.pcpu_hot + inHot);
}

const BTF_KIND_FUNC = 12;

/* Whether the kernel's BTF declares a function (a kfunc's presence, e.g. bpf_get_kmem_cache). */
export function hasFunction(btfPath: string, name: string): boolean {
  const btf = btfOf(btfPath);
  return !!btf && raw.btf__find_by_name_kind(btf, name, BTF_KIND_FUNC) > 0;
}

const BTF_KIND_TYPEDEF = 8;
const BTF_KIND_STRUCT = 4;
const BTF_KIND_UNION = 5;
/* struct btf_member: name_off, type, offset (3 x u32), after the btf_type. */
const MEMBER_SIZE = 12;

/*
 * Byte offset of a member of the kernel's struct NAME (e.g.
 * pcpu_hot.preempt_count), looking into anonymous structs and unions (that
 * one sits in a union with padding); null when absent.
 */
export function memberOffset(btfPath: string, struct: string, member: string): number | null {
  const btf = btfOf(btfPath);
  if (!btf) return null;
  const id = raw.btf__find_by_name_kind(btf, struct, BTF_KIND_STRUCT);
  return id > 0 ? memberOffsetIn(btf, id, member, 0) : null;
}

function memberOffsetIn(btf: Ptr, id: number, member: string, depth: number): number | null {
  const t = raw.btf__type_by_id(btf, id) as Ptr;
  const head = readMemory(t, BTF_TYPE_SIZE);
  const info = head.readUInt32LE(4);
  const kind = (info >>> 24) & 0x1f;
  if ((kind !== BTF_KIND_STRUCT && kind !== BTF_KIND_UNION) || depth > 8) return null;
  const vlen = info & 0xffff;
  const kindFlag = info >>> 31;
  const members = readMemory(t + BigInt(BTF_TYPE_SIZE), vlen * MEMBER_SIZE);
  for (let i = 0; i < vlen; i++) {
    const name = raw.btf__name_by_offset(btf, members.readUInt32LE(i * MEMBER_SIZE)) as string | null;
    /* The bit offset; with kind_flag set, its low 24 bits (the high 8 are a bitfield's size). */
    const bits = members.readUInt32LE(i * MEMBER_SIZE + 8);
    const bytes = (kindFlag ? bits & 0xffffff : bits) / 8;
    if (name === member) return bytes;
    if (!name) {
      const inner = memberOffsetIn(btf, members.readUInt32LE(i * MEMBER_SIZE + 4), member, depth + 1);
      if (inner !== null) return bytes + inner;
    }
  }
  return null;
}

/* Whether the kernel's struct NAME has a member of that name (e.g. cfs_rq.rq, with CONFIG_FAIR_GROUP_SCHED). */
export function hasMember(btfPath: string, struct: string, member: string): boolean {
  return memberOffset(btfPath, struct, member) !== null;
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
  const btf = btfOf(btfPath);
  if (!btf) return out;
  {
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
  }
}

/* Whether the kernel has a tracepoint a raw_tp/tp_btf program can attach to (its typedef btf_trace_NAME). */
export function hasTracepoint(btfPath: string, name: string): boolean {
  const btf = btfOf(btfPath);
  return !!btf && raw.btf__find_by_name_kind(btf, `btf_trace_${name}`, BTF_KIND_TYPEDEF) > 0;
}
