/* The memory report (pure parts), on /proc data captured here and synthetic edge cases. */
import { parseBuddyinfo, parseVmstat } from '../src/sys/procmm';
import { parseMeminfo } from '../src/sys/meminfo';
import { fragmentation, memoryVerdict, sitesSection, topCaches, shrinkerSection, shrinkerDelta } from '../src/model/memreport';
import { buildSnapshot } from '../src/model/snapshot';
import { renderReportText } from '../src/output/memreport';
import { RateLimit } from '../src/cli/report';
import { fixtureKallsyms, fixtureRaw, fixtureSlabinfo } from './helpers/fixtures';

const BUDDY = `Node 0, zone      DMA      0      0      0      0      0      0      0      0      1      1      3
Node 0, zone    DMA32      1      2      4      2      5      4      3      3      4      2    752
Node 0, zone   Normal  11242   9133   8070   5525   3210    996    297    177    126      4     75
`;
const mem = (o: Partial<Record<string, number>>) =>
  parseMeminfo(Object.entries({ MemTotal: 1e6, 'Active(anon)': 0, 'Inactive(anon)': 0, 'Active(file)': 0, 'Inactive(file)': 0, SReclaimable: 0, SUnreclaim: 0, ...o }).map(([k, v]) => `${k}: ${v} kB`).join('\n'));

describe('memory report model', () => {
  it('verdicts: LRU, slab, unreclaimable slab', () => {
    expect(memoryVerdict(mem({ 'Active(anon)': 800, 'Inactive(file)': 20, SReclaimable: 100, SUnreclaim: 80 }))).toMatchObject({ dominant: 'lru', text: 'LRU dominates (82%): almost certainly user space' });
    expect(memoryVerdict(mem({ 'Active(anon)': 300, SReclaimable: 400, SUnreclaim: 300 }))).toMatchObject({ dominant: 'slab', text: 'slab dominates (70%): look in the kernel' });
    expect(memoryVerdict(mem({ 'Active(anon)': 300, SReclaimable: 90, SUnreclaim: 610 }))).toMatchObject({ dominant: 'unreclaimable slab', text: 'unreclaimable slab 61%: look in the kernel' });
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
    expect(lines[2]).toMatch(/^verdict: LRU dominates/);
    expect(text).toMatch(/^Largest slab caches$/m);
    expect(text).toMatch(/^call sites: no session runs$/m);
    expect(text).toMatch(/every order up to 10 can be served/);
  });
});
