/*
 * --pages on the real kernel: the page allocator's unmovable allocations by
 * call site (the first frame after the allocator), live while held and
 * gone after; page tables against /proc/meminfo's PageTables; the slab
 * allocator's own pages apart; percpu allocations by call site.  Needs root
 * and BPF.
 */
import * as fs from 'fs';
import { execFileSync } from 'child_process';
import { Tracer } from '../src/collect/tracer';
import { ensureBpffs } from '../src/session';
import { Kallsyms } from '../src/sys/kallsyms';
import { buildSnapshot, Snapshot } from '../src/model/snapshot';
import { renderText, toDocument } from '../src/output/report';
import { assertBpfUsable, describeBpf, kmemtopProgIds, kmemtopProgIdsSettled } from './helpers/bpf';
import { releaseHolder, startHolder } from './helpers/loadgen';

const meminfoKb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(fs.readFileSync('/proc/meminfo', 'utf8'))![1]);
const MiB = 1 << 20;

describeBpf('real kernel: --pages', () => {
  let syms: Kallsyms;
  let progsBefore: number[] = [];
  let t: Tracer;
  const snap = (): Snapshot => buildSnapshot(t.read(), t.window, (ip) => syms.resolve(ip));
  const pageSites = (s: Snapshot, fn: RegExp) => s.sites.filter((x) => x.allocator === 'page' && fn.test(x.function));
  const liveBytes = (s: Snapshot, fn: RegExp) => pageSites(s, fn).reduce((n, x) => n + x.liveBytes, 0);

  beforeAll(() => {
    assertBpfUsable();
    syms = Kallsyms.load();
    progsBefore = kmemtopProgIds();
    t = Tracer.start({ pages: true, reclaim: false });
  });
  afterAll(() => t.close());

  it('500 full pipes: a page site in the pipe code holds >= 30 MiB while they are held, ~0 after', async () => {
    const before = liveBytes(snap(), /pipe/);
    const h = await startHolder('pipes-hold', 500);
    let held: Snapshot;
    try {
      held = snap();
    } finally {
      await releaseHolder(h);
    }
    const pipe = pageSites(held, /pipe/);
    expect(pipe.length).toBeGreaterThan(0);
    expect(pipe.every((x) => x.cache === 'page-order-0' && x.order === 0 && x.pageType === 'unmovable' && x.objectSize === 4096)).toBe(true);
    expect(liveBytes(held, /pipe/) - before).toBeGreaterThanOrEqual(30 * MiB);
    await new Promise((r) => setTimeout(r, 300));
    expect(liveBytes(snap(), /pipe/) - before).toBeLessThan(MiB);
  });

  it('1 GiB touched once per 2 MiB: page-table sites grow by what /proc/meminfo PageTables grows by', async () => {
    const fns = /^(pte_alloc_one|__pte_alloc|__pmd_alloc|__pud_alloc|pgd_alloc|pagetable_alloc)/;
    const s0 = liveBytes(snap(), fns);
    const m0 = meminfoKb('PageTables') * 1024;
    const h = await startHolder('sparse-touch', 1024);
    let grew: number;
    let meminfoGrew: number;
    try {
      grew = liveBytes(snap(), fns) - s0;
      meminfoGrew = meminfoKb('PageTables') * 1024 - m0;
    } finally {
      await releaseHolder(h);
    }
    /* 512 page-table pages for 1 GiB, one per 2 MiB touched. */
    expect(grew).toBeGreaterThanOrEqual(512 * 4096);
    /* Everything else on the machine moves PageTables too: within 1 MiB of each other. */
    expect(Math.abs(grew - meminfoGrew)).toBeLessThan(MiB);
  });

  it('slab pages are checked against /proc/meminfo: 200,000 negative dentries grow the slab pages as Slab grows', async () => {
    const row = (s: Snapshot) => s.pageCheck!.find((r) => r.what === 'slab pages')!;
    const s0 = snap();
    expect(s0.pageCheck!.map((r) => r.meminfoLine)).toEqual(['Slab', 'VmallocUsed', 'PageTables']);
    /*
     * Lookups of names that do not exist: dentries and nothing else, no file
     * descriptors (in this sandbox something outside any tracer's view
     * instantiates /proc/PID/fd/N for every new descriptor, which grows Slab
     * with no kmem or page event: the check would rightly show that gap).
     */
    const h = await startHolder('dentries', 200000);
    let held: Snapshot;
    try {
      held = snap();
    } finally {
      await releaseHolder(h);
    }
    const traced = row(held).tracedBytes - row(s0).tracedBytes;
    const meminfo = row(held).meminfoGrowthBytes - row(s0).meminfoGrowthBytes;
    /* 200,000 dentries of 192 bytes, 21 to a page: ~37 MiB. */
    expect(meminfo).toBeGreaterThan(30 * MiB);
    /* The pages the slab allocator took while they were made are what Slab grew by (other slab churn: within 5%). */
    expect(Math.abs(traced - meminfo)).toBeLessThan(0.05 * meminfo);
    const text = renderText(toDocument(held, { kind: 'snapshot', kernel: 'k', hostname: 'h' }, { sort: 'liveBytes', top: 5 }));
    expect(text).toMatch(/^ {2}slab pages +[+-][\d.]+\w+ +[+-][\d.]+\w+ +Slab +[+-]/m);
  });

  it('the slab allocator\'s own pages are apart, not in the sites; movable (user) pages are only counted', () => {
    const s = snap();
    expect(s.slabPages).not.toBeNull();
    expect(s.sites.some((x) => /^(allocate_slab|new_slab|___kmalloc_large_node)/.test(x.function))).toBe(false);
    expect(s.counters.pageMovableAllocs).toBeGreaterThan(0);
    expect(s.counters.pageFreesUntracked).toBeGreaterThan(0);
    /* Failed page allocations are read (none could be provoked here: see test/gfp.test.ts). */
    expect(Array.isArray(s.pageFailures)).toBe(true);
  });

  it('percpu: 20 memory cgroups made by another process show their percpu allocations by call site', () => {
    const base = fs.existsSync('/sys/fs/cgroup/memory/memory.limit_in_bytes') ? '/sys/fs/cgroup/memory' : '/sys/fs/cgroup';
    const dirs = Array.from({ length: 20 }, (_, i) => `${base}/kmemtop-test-percpu-${process.pid}-${i}`);
    let s: Snapshot;
    execFileSync('mkdir', dirs);
    try {
      s = snap();
    } finally {
      execFileSync('rmdir', dirs);
    }
    const pc = s.sites.filter((x) => x.allocator === 'percpu');
    expect(pc.every((x) => x.kind === 'percpu' && x.cache === 'percpu' && x.objectSize > 0)).toBe(true);
    /* Each memory cgroup takes percpu counters at mem_cgroup_css_alloc (or its callees on other kernels). */
    const memcg = pc.filter((x) => /mem_cgroup|memcg/.test(x.function));
    expect(memcg.reduce((n, x) => n + x.liveObjects, 0)).toBeGreaterThanOrEqual(20);
  });

  it('vmalloc: a 32 MiB BPF array made by bpftool shows at __bpf_map_area_alloc as /proc/meminfo VmallocUsed grows, and goes with the map', async () => {
    ensureBpffs();
    const pin = `/sys/fs/bpf/kmemtop-test-vmalloc-${process.pid}`;
    const fns = /bpf_map_area_alloc/;
    const vm = (s: Snapshot) => s.sites.filter((x) => x.allocator === 'vmalloc' && fns.test(x.function)).reduce((n, x) => n + x.liveBytes, 0);
    const s0 = vm(snap());
    const m0 = meminfoKb('VmallocUsed') * 1024;
    execFileSync('bpftool', ['map', 'create', pin, 'type', 'array', 'key', '4', 'value', '4096', 'entries', '8192', 'name', 'kmtest_vmalloc']);
    let grew: number;
    let meminfoGrew: number;
    let vmallocPages = 0;
    try {
      const s1 = snap();
      grew = vm(s1) - s0;
      vmallocPages = s1.vmallocPages!.livePages;
      expect(s1.sites.some((x) => x.allocator === 'page' && /__vmalloc_node_range/.test(x.function))).toBe(false);
      meminfoGrew = meminfoKb('VmallocUsed') * 1024 - m0;
      expect(s1.sites.filter((x) => x.allocator === 'vmalloc').every((x) => x.kind === 'vmalloc' && x.cache === 'vmalloc' && x.objectSize % 4096 === 0)).toBe(true);
    } finally {
      fs.rmSync(pin);
    }
    /* 32 MiB of values (and a guard page per area, which VmallocUsed does not count). */
    expect(grew).toBeGreaterThanOrEqual(32 * MiB);
    /* Its pages came through the page allocator too: apart (vmallocPages), not a second site. */
    expect(vmallocPages).toBeGreaterThanOrEqual(8192);
    expect(Math.abs(grew - meminfoGrew)).toBeLessThan(MiB);
    await new Promise((r) => setTimeout(r, 1500)); /* the map is freed from a workqueue */
    expect(vm(snap()) - s0).toBeLessThan(MiB);
  });

  it('leaves nothing loaded', async () => {
    t.close();
    expect(await kmemtopProgIdsSettled(progsBefore)).toEqual(progsBefore);
  });
});
