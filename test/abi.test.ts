/*
 * The kernel/host contract: the TypeScript layouts in src/abi/layout.ts must
 * match the structs and enums of bpf/kmemtop.h as compiled into the BPF
 * object (read back from its BTF), and the bpf_prog_info offsets must match
 * the system's linux/bpf.h.
 */
import { execFileSync } from 'child_process';
import koffi from 'koffi';
import { TestRunOpts } from '../src/bpf/libbpf';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  BPF_PROG_INFO,
  CACHE_INFO,
  CONTEXTS,
  COUNTERS,
  KMEMTOP_CONFIG,
  KMEMTOP_FN_RANGES,
  TASK_NAME,
  KMEMTOP_STATE,
  LIVE_BUCKET,
  LIVE_SLOT,
  LIVE_VALUE,
  LOST_CAUSES,
  PAGE_TYPES,
  KMALLOC_TYPES,
  SITE_CACHE_ENTRY,
  SITE_KEY,
  SITE_STATS,
  StructLayout,
  SWEEP_STATS,
  KMEMTOP_SELF,
  DETAIL_KEY,
  DETAIL_INFO,
  DETAIL_STATS,
  LIVE_DETAIL,
  SITE_AGE,
  PAGE_FAIL_KEY,
} from '../src/abi/layout';
import { COMPACTION, OOM_VICTIM, RECLAIM_REQUEST, RECLAIM_CONFIG, RECLAIM_KIND, RECLAIM_KINDS, RECLAIM_STATE, SHRINKER_INFO, SHRINKER_KEY, SHRINKER_STATS } from '../src/abi/reclaim';

const OBJS = ['kmemtop.bpf.o', 'reclaim.bpf.o', 'sweep.bpf.o'].map((o) => path.join(__dirname, '..', 'build', o));

interface BtfType {
  id: number;
  kind: string;
  name?: string;
  size?: number;
  type_id?: number;
  members?: { name: string; type_id: number; bits_offset: number }[];
  values?: { name: string; val: number }[];
  nr_elems?: number;
}

function loadBtf(obj: string): Map<string, BtfType> & { byId: Map<number, BtfType> } {
  const out = execFileSync('bpftool', ['-j', 'btf', 'dump', 'file', obj], { encoding: 'utf8' });
  const types = (JSON.parse(out) as { types: BtfType[] }).types;
  const byName = new Map<string, BtfType>() as Map<string, BtfType> & { byId: Map<number, BtfType> };
  byName.byId = new Map(types.map((t) => [t.id, t]));
  for (const t of types) if (t.name && (t.kind === 'STRUCT' || t.kind === 'ENUM')) byName.set(`${t.kind}:${t.name}`, t);
  return byName;
}

/* Size in bytes of a BTF type, following typedefs, qualifiers and arrays. */
function sizeOf(btf: ReturnType<typeof loadBtf>, id: number): number {
  const t = btf.byId.get(id)!;
  if (t.size !== undefined) return t.size;
  if (t.kind === 'ARRAY') return t.nr_elems! * sizeOf(btf, t.type_id!);
  return sizeOf(btf, t.type_id!);
}

describe('kmemtop.h structs against the BPF objects BTF', () => {
  const btfs = OBJS.map(loadBtf);
  /* The object that uses a struct carries it in its BTF. */
  const find = (kind: string, name: string) => {
    const i = btfs.findIndex((b) => b.has(`${kind}:${name}`));
    return i < 0 ? { btf: btfs[0], t: undefined } : { btf: btfs[i], t: btfs[i].get(`${kind}:${name}`) };
  };
  const btf = btfs[0];
  const layouts: StructLayout[] = [
    SITE_KEY,
    SITE_STATS,
    LIVE_SLOT,
    LIVE_BUCKET,
    LIVE_VALUE,
    SITE_CACHE_ENTRY,
    KMEMTOP_STATE,
    KMEMTOP_CONFIG,
    KMEMTOP_FN_RANGES,
    TASK_NAME,
    CACHE_INFO,
    RECLAIM_CONFIG,
    SHRINKER_KEY,
    SHRINKER_STATS,
    SHRINKER_INFO,
    RECLAIM_KIND,
    RECLAIM_STATE,
    OOM_VICTIM,
    RECLAIM_REQUEST,
    COMPACTION,
    SWEEP_STATS,
    KMEMTOP_SELF,
    DETAIL_KEY,
    DETAIL_INFO,
    DETAIL_STATS,
    LIVE_DETAIL,
    SITE_AGE,
    PAGE_FAIL_KEY,
  ];

  it.each(layouts.map((l) => [l.cName, l]))('struct %s: size, field names, offsets and sizes', (_n, layout) => {
    const l = layout as StructLayout;
    const { btf, t } = find('STRUCT', l.cName);
    expect(t).toBeDefined();
    expect(t!.size).toBe(l.size);
    const fromBtf = t!.members!.map((m) => ({ c: m.name, offset: m.bits_offset / 8, size: sizeOf(btf, m.type_id) }));
    expect(l.fields.map((f) => ({ c: f.c, offset: f.offset, size: f.size }))).toEqual(fromBtf);
  });

  it('enum kmemtop_lost_cause matches LOST_CAUSES', () => {
    const e = btf.get('ENUM:kmemtop_lost_cause')!;
    expect(e.values!.filter((v) => v.name !== 'KMEMTOP_LOST_MAX')).toEqual(LOST_CAUSES.map((c, i) => ({ name: c.c, val: i })));
    expect(e.values!.find((v) => v.name === 'KMEMTOP_LOST_MAX')!.val).toBe(LOST_CAUSES.length);
  });

  it('enum kmemtop_context matches CONTEXTS', () => {
    const e = btf.get('ENUM:kmemtop_context')!;
    expect(e.values!.filter((v) => v.name !== 'KMEMTOP_CTX_MAX')).toEqual(CONTEXTS.map((c, i) => ({ name: c.c, val: i })));
  });

  it('enum kmemtop_reclaim matches RECLAIM_KINDS', () => {
    const e = find('ENUM', 'kmemtop_reclaim').t!;
    expect(e.values!.filter((v) => v.name !== 'KMEMTOP_RECLAIM_MAX')).toEqual(RECLAIM_KINDS.map((c, i) => ({ name: c.c, val: i })));
  });

  it('enum kmemtop_page_type matches PAGE_TYPES', () => {
    const e = btf.get('ENUM:kmemtop_page_type')!;
    expect(e.values!.filter((v) => v.name !== 'KMEMTOP_PAGE_TYPES')).toEqual(PAGE_TYPES.map((c, i) => ({ name: c.c, val: i })));
  });

  it('enum kmemtop_kmalloc_type matches KMALLOC_TYPES', () => {
    const e = btf.get('ENUM:kmemtop_kmalloc_type')!;
    expect(e.values).toEqual(KMALLOC_TYPES.map((c, i) => ({ name: c.c, val: i })));
  });

  it('enum kmemtop_counter matches COUNTERS', () => {
    const e = btf.get('ENUM:kmemtop_counter')!;
    expect(e.values!.filter((v) => v.name !== 'KMEMTOP_CNT_MAX')).toEqual(COUNTERS.map((c, i) => ({ name: c.c, val: i })));
  });
});

/* Offsets of a C struct's fields and its size, compiled by the system C compiler. */
function cOffsets(include: string, struct: string, fields: string[]): Record<string, number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kmemtop-abi-'));
  try {
    const src = path.join(dir, 'o.c');
    fs.writeFileSync(
      src,
      `#include <stdio.h>\n#include <stddef.h>\n#include <${include}>\nint main(void){\n` +
        fields.map((f) => `printf("${f} %zu\\n", offsetof(struct ${struct}, ${f}));`).join('\n') +
        `\nprintf("size %zu\\n", sizeof(struct ${struct}));\nreturn 0;}\n`,
    );
    execFileSync('cc', ['-o', path.join(dir, 'o'), src]);
    return Object.fromEntries(
      execFileSync(path.join(dir, 'o'), { encoding: 'utf8' })
        .trim()
        .split('\n')
        .map((l) => l.split(' '))
        .map(([k, v]) => [k, Number(v)]),
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('struct bpf_test_run_opts (libbpf) against the koffi declaration', () => {
  it('has the size and offsets koffi lays out', () => {
    const info = koffi.type(TestRunOpts) as unknown as { size: number; members: Record<string, { offset: number }> };
    const names = Object.keys(info.members);
    const got = cOffsets('bpf/bpf.h', 'bpf_test_run_opts', names);
    for (const f of names) expect([f, info.members[f].offset]).toEqual([f, got[f]]);
    expect(info.size).toBe(got.size);
  });
});

describe('struct bpf_prog_info offsets against linux/bpf.h', () => {
  it('matches offsetof() compiled by the system C compiler', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kmemtop-abi-'));
    try {
      const fields = Object.keys(BPF_PROG_INFO.offsets);
      const src = path.join(dir, 'pi.c');
      fs.writeFileSync(
        src,
        '#include <stdio.h>\n#include <stddef.h>\n#include <linux/bpf.h>\nint main(void){\n' +
          fields.map((f) => `printf("${f} %zu\\n", offsetof(struct bpf_prog_info, ${f}));`).join('\n') +
          '\nprintf("size %zu\\n", sizeof(struct bpf_prog_info));\nreturn 0;}\n',
      );
      execFileSync('cc', ['-o', path.join(dir, 'pi'), src]);
      const got = Object.fromEntries(
        execFileSync(path.join(dir, 'pi'), { encoding: 'utf8' })
          .trim()
          .split('\n')
          .map((l) => l.split(' '))
          .map(([k, v]) => [k, Number(v)]),
      );
      for (const f of fields) expect([f, got[f]]).toEqual([f, (BPF_PROG_INFO.offsets as Record<string, number>)[f]]);
      /* Our buffer must cover at least every field we read. */
      expect(BPF_PROG_INFO.size).toBeGreaterThanOrEqual(BPF_PROG_INFO.offsets.recursion_misses + 8);
      expect(BPF_PROG_INFO.size).toBeLessThanOrEqual(got.size);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
