/* Reconciliation against /proc/slabinfo and the recursion-loss arithmetic (pure). */
import { parseSlabinfo } from '../src/sys/slabinfo';
import { reconcile, slabGroup } from '../src/model/reconcile';
import { buildSnapshot, eventsLostToRecursion, Site } from '../src/model/snapshot';
import { fixtureKallsyms, fixtureRaw, fixtureSlabinfo } from './helpers/fixtures';

const ctx0 = { task: 0, taskBh: 0, softirq: 0, hardirq: 0, nmi: 0, unknown: 0 };
function site(cache: string, liveObjects: number, objectSize: number, kind: Site['kind'] = 'cache'): Site {
  return {
    id: liveObjects,
    function: 'f',
    allocator: 'slab',
    offset: 0,
    module: null,
    kind,
    cache,
    objectSize,
    allocs: liveObjects,
    frees: 0,
    freesUnseen: 0,
    untrackedAllocs: 0,
    failedAllocs: 0,
    bytesRequested: 0,
    bytesAllocated: liveObjects * objectSize,
    liveObjects,
    liveBytes: liveObjects * objectSize,
    liveObjectsUpperBound: false,
    liveObjectsLowerBound: false,
    liveObjectsEstimate: liveObjects,
    liveBytesEstimate: liveObjects * objectSize,
    cacheAliases: [],
    cacheReclaimable: false,
    allocsByContext: { ...ctx0, task: liveObjects },
    freesByContext: ctx0,
  };
}

describe('slabinfo', () => {
  it('parses the real /proc/slabinfo captured here', () => {
    const slabs = fixtureSlabinfo();
    expect(slabs.size).toBeGreaterThan(100);
    const filp = slabs.get('filp')!;
    expect(filp.objectSize).toBe(192);
    expect(filp.activeObjects).toBeLessThanOrEqual(filp.totalObjects);
  });

  it('skips the header lines and malformed ones', () => {
    const m = parseSlabinfo('slabinfo - version: 2.1\n# name <active_objs>\nfoo 10 20 64 64 1 : tunables 0 0 0\nbad line\n');
    expect([...m.keys()]).toEqual(['foo']);
    expect(m.get('foo')).toEqual({ name: 'foo', activeObjects: 10, totalObjects: 20, objectSize: 64, memoryBytes: 0 });
    const full = parseSlabinfo('filp 420 420 192 21 1 : tunables 0 0 0 : slabdata 20 20 0\n');
    expect(full.get('filp')!.memoryBytes).toBe(20 * 4096);
  });

  it('groups every kmalloc cache variant of one size', () => {
    for (const n of ['kmalloc-192', 'kmalloc-cg-192', 'kmalloc-rcl-192', 'dma-kmalloc-192', 'kmalloc-rnd-03-192']) {
      expect(slabGroup(n)).toBe('kmalloc-192');
    }
    expect(slabGroup('kmalloc-cg-2k')).toBe('kmalloc-2k');
    expect(slabGroup('maple_node')).toBe('maple_node');
  });
});

describe('reconcile', () => {
  const slabs = parseSlabinfo(
    'maple_node 650 1056 256 16 1 : tunables 0 0 0\n' +
      'kmalloc-192 100 120 192 21 1 : tunables 0 0 0\nkmalloc-cg-192 50 60 192 21 1 : tunables 0 0 0\n' +
      'filp 420 420 192 21 1 : tunables 0 0 0\n',
  );

  it('reports tracked live objects above the active objects as phantom, per cache', () => {
    const c = reconcile([site('maple_node', 6000, 256), site('maple_node', 2522, 256), site('filp', 10, 192)], slabs);
    const maple = c.find((x) => x.cache === 'maple_node')!;
    expect(maple).toMatchObject({ trackedLiveObjects: 8522, slabActiveObjects: 650, phantomObjects: 7872, phantomBytes: 7872 * 256 });
    expect(c.find((x) => x.cache === 'filp')!.phantomObjects).toBe(0);
    expect(c[0].cache).toBe('maple_node');
  });

  it('bounds kmalloc size classes by the sum of their variants', () => {
    const c = reconcile([site('kmalloc-192', 160, 192, 'kmalloc'), site('kmalloc-192', 0, 192)], slabs);
    expect(c).toEqual([
      { cache: 'kmalloc-192', objectSize: 192, trackedLiveObjects: 160, slabActiveObjects: 150, slabTotalObjects: 180, phantomObjects: 10, phantomBytes: 1920 },
    ]);
  });

  it('leaves large kmallocs (pages) and unknown caches out', () => {
    expect(reconcile([site('kmalloc-large', 5, 16384, 'kmalloc'), site('nope', 5, 64)], slabs)).toEqual([]);
  });

  it('corrected totals subtract the phantoms; the fixture snapshot stays within its caches', () => {
    const raw = fixtureRaw();
    const syms = fixtureKallsyms();
    const snap = buildSnapshot(raw, { wallTime: raw.wallTime, monotonicMs: raw.monotonicMs }, (ip) => syms.resolve(ip));
    expect(snap.caches).not.toBeNull();
    const phantom = snap.caches!.reduce((n, c) => n + c.phantomObjects, 0);
    expect(snap.totals.phantomObjects).toBe(phantom);
    expect(snap.totals.liveObjectsCorrected).toBe(snap.totals.liveObjects - phantom);
    for (const c of snap.caches!) expect(c.trackedLiveObjects - c.phantomObjects).toBeLessThanOrEqual(c.slabActiveObjects);
  });
});

describe('events lost to recursion protection', () => {
  it('counts skipped runs without a backup, and free misses the nested programs did not catch', () => {
    expect(
      eventsLostToRecursion([
        { program: 'kmemtop__kmalloc', tracepoint: 'kmalloc', misses: 2, caught: null },
        { program: 'kmemtop__kfree', tracepoint: 'kfree', misses: 45, caught: 40 },
        { program: 'kmemtop__kmem_cache_free', tracepoint: 'kmem_cache_free', misses: 7, caught: 7 },
      ]),
    ).toBe(2 + 5 + 0);
  });

  it('never counts a catch as a negative loss', () => {
    expect(eventsLostToRecursion([{ program: 'kmemtop__kfree', tracepoint: 'kfree', misses: 3, caught: 5 }])).toBe(0);
  });
});
