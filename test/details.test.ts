/*
 * The splits by stack, memory cgroup and process (pure): grouping, the
 * "other" rows, totals per cgroup, the detail pane and the cgroups view,
 * diff --by-stack; and finding the memory controller's hierarchy in the
 * mountinfo of this machine kind (captured: v1 memory beside a v2 mount).
 */
import * as fs from 'fs';
import * as path from 'path';
import type { RawDetail, RawDetails } from '../src/collect/raw';
import { buildSnapshot, Site } from '../src/model/snapshot';
import { cgroupRows, GROUPS_PER_SITE, INTERRUPT, taskRows, withDetails } from '../src/model/details';
import { diffSites, frameName, OTHER_STACKS, stackSites } from '../src/model/diff';
import { findMemcgMount } from '../src/sys/cgroups';
import { initialState, reduce } from '../src/ui/state';
import { buildUiModel, History } from '../src/ui/model';
import { frameText, renderFrame } from '../src/ui/render';
import { fixtureKallsyms, fixtureRaw, FIXTURES } from './helpers/fixtures';

const raw = fixtureRaw();
const syms = fixtureKallsyms();
const resolve = (ip: bigint) => syms.resolve(ip);
const base = buildSnapshot(raw, { wallTime: raw.wallTime, monotonicMs: raw.monotonicMs - 1000 }, resolve);
const ev = base.sites.find((s) => s.function === 'do_eventfd')!;
const other = base.sites.find((s) => s !== ev && s.objectSize !== ev.objectSize)!;

const detail = (site: Site, d: Partial<RawDetail>): RawDetail => ({ site: site.id, stack: 0, cgroup: 0n, cgroupPath: null, tgid: 0, comm: '', allocs: 0, frees: 0, ...d });

function details(ds: RawDetail[], o: Partial<RawDetails> = {}): RawDetails {
  return { stackDepth: 0, byCgroup: true, byTask: true, memcgHierarchy: 'cgroup v1 /sys/fs/cgroup/memory', details: ds, frames: new Map(), ...o };
}

describe('splits by cgroup and process', () => {
  const ds = [
    detail(ev, { cgroup: 11n, cgroupPath: '/ci/job-1', tgid: 100, comm: 'loadgen', allocs: 2000, frees: 0 }),
    detail(ev, { cgroup: 11n, cgroupPath: '/ci/job-1', tgid: 101, comm: 'sh', allocs: 10, frees: 10 }),
    detail(ev, { cgroup: 1n, cgroupPath: '/', tgid: 1, comm: 'systemd', allocs: 30, frees: 5 }),
    detail(ev, { cgroup: 0n, tgid: 0, allocs: 7, frees: 7 }),
    detail(other, { cgroup: 11n, cgroupPath: '/ci/job-1', tgid: 100, comm: 'loadgen', allocs: 4, frees: 1 }),
  ];
  const sites = withDetails(base.sites, details(ds), new Map(), resolve, 1);
  const s = sites.find((x) => x.id === ev.id)!;

  it('sums a site by cgroup and by process, most live bytes first, interrupt context apart', () => {
    expect(s.cgroups!.map((c) => [c.path, c.allocs, c.liveObjects, c.liveBytes])).toEqual([
      ['/ci/job-1', 2010, 2000, 2000 * ev.objectSize],
      ['/', 30, 25, 25 * ev.objectSize],
      [INTERRUPT, 7, 0, 0],
    ]);
    expect(s.tasks!.map((t) => [t.tgid, t.comm, t.liveObjects])).toEqual([
      [100, 'loadgen', 2000],
      [1, 'systemd', 25],
      [101, 'sh', 0],
      [0, INTERRUPT, 0],
    ]);
    expect(s.otherCgroups).toBeNull();
    /* Sites without details get empty splits, not undefined (they were recorded, nothing came). */
    expect(sites.find((x) => x.id !== ev.id && x.id !== other.id)!.cgroups).toEqual([]);
    expect(s.stacks).toBeUndefined();
  });

  it('keeps the top rows per site and sums the rest, and scales by the sampling rate', () => {
    const many = Array.from({ length: GROUPS_PER_SITE + 3 }, (_, i) => detail(ev, { cgroup: BigInt(i + 2), cgroupPath: `/g${i}`, allocs: 10 + i, frees: 0 }));
    const [x] = withDetails([ev], details(many, { byTask: false }), new Map(), resolve, 4);
    expect(x.cgroups!.length).toBe(GROUPS_PER_SITE);
    expect(x.cgroups![0]).toMatchObject({ path: `/g${GROUPS_PER_SITE + 2}`, allocs: 4 * (12 + GROUPS_PER_SITE) });
    expect(x.otherCgroups).toEqual({ cgroups: 3, allocs: 4 * (10 + 11 + 12), frees: 0, liveObjects: 4 * 33, liveBytes: 4 * 33 * ev.objectSize });
    expect(x.tasks).toBeUndefined();
  });

  it('totals per cgroup and per process over all sites, with their top site', () => {
    const cg = cgroupRows(sites, details(ds), 1)!;
    expect(cg[0]).toMatchObject({ path: '/ci/job-1', sites: 2, allocs: 2014, liveObjects: 2003, liveBytes: 2000 * ev.objectSize + 3 * other.objectSize });
    expect(cg[0].topSite).toMatch(/^do_eventfd /);
    expect(taskRows(sites, details(ds), 1)![0]).toMatchObject({ tgid: 100, comm: 'loadgen', sites: 2, liveObjects: 2003 });
    expect(cgroupRows(sites, null, 1)).toBeNull();
    expect(cgroupRows(sites, details(ds, { byCgroup: false }), 1)).toBeNull();
  });

  it('a removed cgroup is named as such', () => {
    const [x] = withDetails([ev], details([detail(ev, { cgroup: 99n, cgroupPath: null, allocs: 1 })]), new Map(), resolve, 1);
    expect(x.cgroups![0].path).toBe('(removed cgroup)');
  });

  it('the live view: the cgroups view lists them, the detail pane walks callers, cgroups, processes with c', () => {
    const snap = { ...base, sites, cgroups: cgroupRows(sites, details(ds), 1), tasks: taskRows(sites, details(ds), 1), memcgHierarchy: 'cgroup v1 /sys/fs/cgroup/memory' };
    const m = buildUiModel(snap, null, 1000, null);
    const view = frameText(renderFrame(m, reduce(initialState(), '4'), new History(), 120, 30));
    expect(view).toMatch(/\[4:cgroups\]/);
    expect(view).toMatch(/cgroup v1 \/sys\/fs\/cgroup\/memory/);
    expect(view).toMatch(/^.*do_eventfd.*\/ci\/job-1$/m);
    let st = { ...initialState({ sort: 'allocs' }), filter: 'do_eventfd', detail: true };
    const pane = () => frameText(renderFrame(m, st, new History(), 140, 40));
    expect(pane()).toMatch(/memory cgroups of the allocating tasks  \(c: tasks\)/);
    st = reduce(st, 'c'); /* stacks: not recorded, skipped */
    expect(pane()).toMatch(/memory cgroups of the allocating tasks/);
    st = reduce(st, 'c');
    expect(pane()).toMatch(/allocating processes[\s\S]*100 loadgen/);
    const none = buildUiModel({ ...base, cgroups: null, tasks: null, memcgHierarchy: null }, null, 1000, null);
    expect(frameText(renderFrame(none, reduce(initialState(), '4'), new History(), 100, 20))).toMatch(/not recorded; start kmemtop with --by-cgroup/);
  });
});

describe('diff --by-stack', () => {
  const site = (stacks: { frames: string[]; n: number }[], rest: number) => ({
    function: 'kmalloc_reserve',
    module: null,
    cache: 'kmalloc-512',
    objectSize: 512,
    liveObjects: stacks.reduce((n, s) => n + s.n, 0) + rest,
    liveBytes: 512 * (stacks.reduce((n, s) => n + s.n, 0) + rest),
    allocs: 1000,
    stacks: stacks.map((s) => ({ frames: s.frames, allocs: s.n, frees: 0, liveObjects: s.n, liveBytes: 512 * s.n })),
  });

  it('matches stacks by function names across builds (offsets differ) and keeps what is not listed as one row', () => {
    const before = site([{ frames: ['kmalloc_reserve+0x10', 'udp_sendmsg+0x2a0', '__sys_sendto+0x1'], n: 10 }], 5);
    const after = site(
      [
        { frames: ['kmalloc_reserve+0x14', 'udp_sendmsg+0x2b8', '__sys_sendto+0x9'], n: 30 },
        { frames: ['kmalloc_reserve+0x14', 'tcp_sendmsg+0x40'], n: 7 },
      ],
      5,
    );
    const { rows, totals } = diffSites(stackSites([before]), stackSites([after]));
    expect(rows.map((r) => [r.stack, r.status, r.liveObjectsDelta])).toEqual([
      [['udp_sendmsg', '__sys_sendto'], 'changed', 20],
      [['tcp_sendmsg'], 'new', 7],
      [[OTHER_STACKS], 'changed', 0],
    ]);
    expect(totals.liveObjectsDelta).toBe(27);
    expect(frameName('skb_clone+0x1a [nf_tables]')).toBe('skb_clone [nf_tables]');
  });
});

describe('the memory controller hierarchy', () => {
  it('on this machine kind: cgroup v1 memory, though a v2 mount is beside it', () => {
    const text = fs.readFileSync(path.join(FIXTURES, 'mountinfo-v1.txt'), 'utf8');
    expect(findMemcgMount(text, () => ['memory', 'pids'])).toEqual({ dir: '/sys/fs/cgroup/memory', version: 1 });
  });

  it('v2 only when the unified hierarchy has the memory controller', () => {
    const v2 = '40 30 0:37 / /sys/fs/cgroup rw,relatime - cgroup2 cgroup2 rw\n';
    expect(findMemcgMount(v2, () => ['cpu', 'memory'])).toEqual({ dir: '/sys/fs/cgroup', version: 2 });
    expect(findMemcgMount(v2, () => ['cpu'])).toBeNull();
    expect(findMemcgMount('41 30 0:38 / /mnt/cg\\040x rw - cgroup2 none rw\n', () => ['memory'])).toEqual({ dir: '/mnt/cg x', version: 2 });
  });
});
