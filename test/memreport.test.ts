/* The memory report (pure parts), on /proc data captured here and synthetic edge cases. */
import { parseBuddyinfo, parseVmstat } from '../src/sys/procmm';
import { parseMeminfo } from '../src/sys/meminfo';
import { fragmentation, kernelMemory, memoryVerdict, sitesSection, topCaches, shrinkerSection, shrinkerDelta } from '../src/model/memreport';
import * as fs from 'fs';
import { spawnSync } from 'child_process';
import * as path from 'path';
import { buildSnapshot } from '../src/model/snapshot';
import { compactionLine, oomLines, renderReportText } from '../src/output/memreport';
import { compactResultName, type OomVictim } from '../src/model/shrinkers';
import { enumNamed } from '../src/bpf/btf';
import { RateLimit } from '../src/cli/report';
import { fixtureKallsyms, fixtureRaw, fixtureSlabinfo, FIXTURES } from './helpers/fixtures';

const BUDDY = `Node 0, zone      DMA      0      0      0      0      0      0      0      0      1      1      3
Node 0, zone    DMA32      1      2      4      2      5      4      3      3      4      2    752
Node 0, zone   Normal  11242   9133   8070   5525   3210    996    297    177    126      4     75
`;
/* A meminfo with these lines, and the rest of MemTotal free (nothing unaccounted) unless MemFree is given. */
const mem = (o: Partial<Record<string, number>>) => {
  const lines: Record<string, number> = { MemTotal: 1e6, 'Active(anon)': 0, 'Inactive(anon)': 0, 'Active(file)': 0, 'Inactive(file)': 0, SReclaimable: 0, SUnreclaim: 0, ...(o as Record<string, number>) };
  if (o.MemFree === undefined) lines.MemFree = lines.MemTotal - Object.entries(lines).filter(([k]) => k !== 'MemTotal').reduce((n, [, v]) => n + v, 0);
  return parseMeminfo(Object.entries(lines).map(([k, v]) => `${k}: ${v} kB`).join('\n'));
};

describe('memory report model', () => {
  it('verdicts: LRU, slab, unreclaimable slab', () => {
    expect(memoryVerdict(mem({ 'Active(anon)': 800, 'Inactive(file)': 20, SReclaimable: 100, SUnreclaim: 80 }))).toMatchObject({ dominant: 'lru', text: 'LRU dominates (82%): almost certainly user space' });
    expect(memoryVerdict(mem({ 'Active(anon)': 300, SReclaimable: 400, SUnreclaim: 300 }))).toMatchObject({ dominant: 'slab', text: 'slab dominates (70%): look in the kernel' });
    expect(memoryVerdict(mem({ 'Active(anon)': 300, SReclaimable: 90, SUnreclaim: 610 }))).toMatchObject({ dominant: 'unreclaimable slab', text: 'unreclaimable slab 61%: look in the kernel' });
  });

  it('verdicts weigh all kernel memory: vmalloc, page tables, and what no line names', () => {
    expect(memoryVerdict(mem({ 'Active(anon)': 300, SReclaimable: 50, SUnreclaim: 50, VmallocUsed: 400 }))).toMatchObject({
      dominant: 'kernel',
      text: 'kernel memory dominates (63%, most in vmalloc): look in the kernel',
    });
    /* 500 kB that no line names (MemTotal less everything): the kernel's, and the largest part. */
    expect(memoryVerdict(mem({ MemTotal: 1000, MemFree: 100, 'Active(anon)': 300, SUnreclaim: 100 })).text).toBe('kernel memory dominates (67%, most in unaccounted): look in the kernel');
  });

  it('the kernel memory breakdown of this machine kind adds up to MemTotal', () => {
    const m = parseMeminfo(fs.readFileSync(path.join(FIXTURES, 'meminfo.txt'), 'utf8'));
    const k = kernelMemory(m);
    expect(k.parts.map((p) => p.name).sort()).toEqual(['balloon', 'kernel stacks', 'other reclaimable', 'page tables', 'percpu', 'slab reclaimable', 'slab unreclaimable', 'vmalloc', 'zswap']);
    expect(k.freeBytes + k.userBytes + k.hugetlbBytes + k.parts.reduce((n, p) => n + p.bytes, 0) + k.unaccountedBytes).toBe(k.totalBytes);
    expect(k.parts.find((p) => p.name === 'vmalloc')!.bytes).toBe(Number(/VmallocUsed: +(\d+)/.exec(fs.readFileSync(path.join(FIXTURES, 'meminfo.txt'), 'utf8'))![1]) * 1024);
    expect(k.unaccountedBytes).toBeGreaterThan(0);
  });

  it('ten largest caches, by slab memory', () => {
    const top = topCaches(fixtureSlabinfo());
    expect(top).toHaveLength(10);
    for (let i = 1; i < top.length; i++) expect(top[i - 1].memoryBytes).toBeGreaterThanOrEqual(top[i].memoryBytes);
  });

  it('fragmentation: free blocks per zone, which orders can be served', () => {
    const f = fragmentation(parseBuddyinfo(BUDDY), parseVmstat('compact_stall 3\ncompact_fail 1\nallocstall_normal 5\nallocstall_movable 2\noom_kill 4\n'));
    expect(f.zones.map((z) => [z.zone, z.highestFreeOrder])).toEqual([
      ['DMA', 10],
      ['DMA32', 10],
      ['Normal', 10],
    ]);
    expect(f.zones[0].freePages).toBe(256 + 512 + 3 * 1024);
    expect(f.servable.every((x) => x.servable)).toBe(true);
    expect(f).toMatchObject({ compactStall: 3, compactFail: 1, allocStall: 7, oomKill: 4 });
    const tight = fragmentation(parseBuddyinfo('Node 0, zone   Normal  100 50 2 0 0 0 0 0 0 0 0\n'), new Map());
    expect(tight.servable.filter((x) => !x.servable).map((x) => x.order)).toEqual([3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('sites: most live bytes, and fastest growing between two reads', () => {
    const raw = fixtureRaw();
    const syms = fixtureKallsyms();
    const cur = buildSnapshot(raw, raw, (ip) => syms.resolve(ip));
    const prev = { ...cur, sites: cur.sites.map((s) => (s.function === 'do_eventfd' ? s : { ...s, liveBytes: s.liveBytes })) };
    const grown = { ...cur, sites: cur.sites.map((s) => (s.function === 'do_eventfd' ? { ...s, liveBytes: s.liveBytes + 64000, liveObjects: s.liveObjects + 1000 } : s)) };
    const sec = sitesSection(grown, prev, 2000, 'session');
    expect(sec.fastestGrowing[0]).toMatchObject({ growthBytesPerSec: 32000 });
    expect(sec.fastestGrowing[0].site).toMatch(/^do_eventfd\+0x/);
    expect(sec.topLive.length).toBeLessThanOrEqual(10);
    expect(shrinkerSection(cur.shrinkers!).top.length).toBeGreaterThan(0);
  });

  it('shrinkers since an earlier read: the difference, by name', () => {
    const raw = fixtureRaw();
    const syms = fixtureKallsyms();
    const cur = buildSnapshot(raw, raw, (ip) => syms.resolve(ip)).shrinkers!;
    const prev = cur.map((s) => ({ ...s, calls: s.calls - 1, requested: Math.max(0, s.requested - 10), freed: Math.max(0, s.freed - 5) }));
    const d = shrinkerDelta(cur, prev);
    expect(d.map((x) => x.calls)).toEqual(cur.map(() => 1));
    expect(shrinkerDelta(cur, null)).toBe(cur);
  });

  it('rate limit: at most N per window', () => {
    const r = new RateLimit(2, 60000);
    expect([r.allow(0), r.allow(1000), r.allow(2000), r.allow(59999), r.allow(60001), r.allow(61001)]).toEqual([true, true, false, false, true, true]);
  });

  it('renders one screen: verdict first, caches, sites, fragmentation', () => {
    const f = fragmentation(parseBuddyinfo(BUDDY), new Map());
    const text = renderReportText({
      tool: 'kmemtop',
      schemaVersion: 1,
      kind: 'report',
      kernel: 'k',
      hostname: 'h',
      time: 't',
      verdict: memoryVerdict(mem({ 'Active(anon)': 800, SReclaimable: 100 })),
      memory: kernelMemory(mem({ 'Active(anon)': 800, SReclaimable: 100, VmallocUsed: 40 })),
      topCaches: topCaches(fixtureSlabinfo()),
      sites: null,
      sitesUnavailable: 'no session runs',
      shrinkers: null,
      oomVictim: { pid: 7, comm: 'hog', uid: 0, time: 'now' },
      fragmentation: f,
      lost: null,
      accuracy: null,
    });
    const lines = text.split('\n');
    expect(lines[1]).toBe('OOM kill: hog (pid 7) at now');
    expect(lines.find((l) => l.startsWith('verdict: '))).toMatch(/^verdict: LRU dominates/);
    expect(text).toMatch(/^  not shown here \(see the kernel log\)/m);
    expect(text).toMatch(/^Largest slab caches$/m);
    expect(text).toMatch(/^ +40KiB +0\.0% +kernel: vmalloc$/m);
    expect(text).toMatch(/kernel: unaccounted/);
    expect(text).toMatch(/^call sites: no session runs$/m);
    expect(text).toMatch(/every order up to 10 can be served/);
  });

  it('OOM compaction line: not for a memcg charge or order 0; tried or not for a high order', () => {
    const q = (kind: string, order: number) => ({ order, gfp: 'GFP_KERNEL', hint: '', kind, pid: 9, comm: 'x' });
    const v = (kind: string, order: number, compaction: OomVictim['compaction']) => ({ pid: 1, comm: 'v', uid: 0, time: 't', request: q(kind, order), compaction });
    expect(compactionLine(v('memcg', 0, null))).toMatch(/not involved \(a memory cgroup charge/);
    expect(compactionLine(v('direct', 0, null))).toMatch(/does not apply to order 0/);
    expect(compactionLine(v('direct', 2, null))).toBe(
      '  compaction: not seen for this order-2 request in the second before the kill (deferred, not allowed by its flags, or not built)',
    );
    const c = { tries: 2, zoneRuns: 3, zoneSuccesses: 0, zonesDeferred: 1, lastResult: 'complete' };
    expect(compactionLine(v('direct', 3, c))).toBe(
      '  compaction: tried 2 times for this order-3 request: compacted 3 zones, 0 forming a free order-3 block (last result: complete), 1 zone skipped as deferred after earlier failures',
    );
    expect(oomLines(v('direct', 3, c))).toContain(compactionLine(v('direct', 3, c)));
  });

  it("compaction results named by the kernel's enum (this machine's BTF)", () => {
    const results = enumNamed('/sys/kernel/btf/vmlinux', 'compact_result');
    expect(compactResultName(results.get('COMPACT_SUCCESS')!, results)).toBe('success');
    expect(compactResultName(results.get('COMPACT_PARTIAL_SKIPPED')!, results)).toBe('partial_skipped');
    expect(compactResultName(-1, results)).toBeNull();
  });
});

describe('kmemtop report on this machine', () => {
  const KMEMTOP = path.join(__dirname, '..', 'bin', 'kmemtop');
  const meminfoKb = () => {
    const m = new Map<string, number>();
    for (const l of fs.readFileSync('/proc/meminfo', 'utf8').split('\n')) {
      const x = /^([\w()]+):\s+(\d+)/.exec(l);
      if (x) m.set(x[1], Number(x[2]) * 1024);
    }
    return m;
  };

  it('names vmalloc, page tables, kernel stacks, percpu and unaccounted memory, with /proc/meminfo figures of the same moment', () => {
    const before = meminfoKb();
    const r = spawnSync(KMEMTOP, ['report', '--json'], { encoding: 'utf8' });
    const after = meminfoKb();
    expect(r.status).toBe(0);
    const k = JSON.parse(r.stdout).memory;
    expect(k.totalBytes).toBe(before.get('MemTotal'));
    const part = (name: string) => k.parts.find((p: { name: string }) => p.name === name).bytes;
    /* Figures that move a little between two reads: within them, give or take 1 MiB. */
    const within = (v: number, a: number, b: number) => v >= Math.min(a, b) - (1 << 20) && v <= Math.max(a, b) + (1 << 20);
    for (const [name, line] of [['vmalloc', 'VmallocUsed'], ['kernel stacks', 'KernelStack'], ['percpu', 'Percpu'], ['slab unreclaimable', 'SUnreclaim']]) {
      expect([name, within(part(name), before.get(line)!, after.get(line)!)]).toEqual([name, true]);
    }
    const pt = (m: Map<string, number>) => m.get('PageTables')! + (m.get('SecPageTables') ?? 0);
    expect(within(part('page tables'), pt(before), pt(after))).toBe(true);
    expect(typeof k.unaccountedBytes).toBe('number');
    const text = spawnSync(KMEMTOP, ['report'], { encoding: 'utf8' }).stdout;
    for (const name of ['kernel: vmalloc', 'kernel: page tables', 'kernel: kernel stacks', 'kernel: percpu', 'kernel: unaccounted']) expect(text).toContain(name);
  });
});
