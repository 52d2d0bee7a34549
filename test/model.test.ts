/* The pure snapshot model and report, on a RawSnapshot captured from the real kernel. */
import { accuracyOf, apportion, buildSnapshot, estimateSampled, isKmallocKey, kmallocCacheName, rankValue, sortSites, SORT_KEYS, totalsOf } from '../src/model/snapshot';
import { sumContexts } from '../src/abi/layout';
import { renderJson, renderText, toDocument } from '../src/output/report';
import { fixtureKallsyms, fixtureRaw } from './helpers/fixtures';
import { readSlabinfo } from '../src/sys/slabinfo';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const raw = fixtureRaw();
const syms = fixtureKallsyms();
const start = { wallTime: new Date(raw.wallTime.getTime() - 1000), monotonicMs: raw.monotonicMs - 1000 };
const snap = buildSnapshot(raw, start, (ip) => syms.resolve(ip));
const meta = { kind: 'record' as const, kernel: '6.18.44', hostname: 'vm', command: ['loadgen', 'eventfd-churn', '2000'], exitCode: 0 };

describe('snapshot model', () => {
  it('symbolizes every site and names caches and kmalloc size classes', () => {
    expect(snap.sites.every((s) => s.function !== '[unknown]')).toBe(true);
    const eventfd = snap.sites.find((s) => s.function === 'do_eventfd')!;
    expect(eventfd).toMatchObject({ kind: 'kmalloc', liveObjects: 0, liveBytes: 0 });
    expect(eventfd.cache).toMatch(/^kmalloc-\d+$/);
    expect(eventfd.allocs).toBeGreaterThanOrEqual(2000);
    expect(eventfd.frees).toBe(eventfd.allocs);
    expect(eventfd.bytesRequested).toBeLessThanOrEqual(eventfd.bytesAllocated);
    const filp = snap.sites.find((s) => s.cache === 'filp')!;
    expect(filp).toMatchObject({ kind: 'cache', function: 'alloc_empty_file' });
    expect(filp.allocs).toBeGreaterThanOrEqual(2000);
  });

  it('conserves objects per site; bytes are objects times the object size', () => {
    for (const [r, s] of raw.sites.map((r, i) => [r, snap.sites[i]] as const)) {
      const st = r.stats;
      expect(s.allocs).toBe(sumContexts(st.allocs));
      expect(s.frees).toBe(sumContexts(st.frees));
      expect(s.liveObjects).toBe(s.allocs - st.untrackedAllocs - s.frees - st.freesUnseen);
      expect(s.liveObjects).toBeGreaterThanOrEqual(0);
      expect(s.liveBytes).toBe(s.liveObjects * s.objectSize);
      expect(s.bytesAllocated).toBe(s.allocs * s.objectSize);
      if (s.kind === 'cache') {
        const c = raw.caches.get(r.key.cache)!;
        expect(s.objectSize).toBe(c.size);
        expect(s.bytesRequested).toBe(s.allocs * c.objectSize);
      } else {
        expect(s.objectSize).toBe(Number(r.key.cache));
        expect(s.bytesRequested).toBe(st.bytesReq);
      }
    }
  });

  it('names kmalloc size classes as the kernel names its caches', () => {
    expect(kmallocCacheName(8)).toBe('kmalloc-8');
    expect(kmallocCacheName(192)).toBe('kmalloc-192');
    expect(kmallocCacheName(1024)).toBe('kmalloc-1k');
    expect(kmallocCacheName(8192)).toBe('kmalloc-8k');
    expect(kmallocCacheName(16384)).toBe('kmalloc-large');
    /* The type the kernel picked from the flags (KMALLOC_TYPES). */
    expect(kmallocCacheName(2048, 3)).toBe('kmalloc-cg-2k');
    expect(kmallocCacheName(96, 1)).toBe('kmalloc-rcl-96');
    expect(kmallocCacheName(8, 2)).toBe('dma-kmalloc-8');
    expect(kmallocCacheName(16384, 3)).toBe('kmalloc-large');
    expect(isKmallocKey(192n)).toBe(true);
    expect(isKmallocKey(0xffff888100001000n)).toBe(false);
  });

  it('counts allocations and frees by context', () => {
    const t = snap.totals;
    expect(sumContexts(t.allocsByContext)).toBe(t.allocs);
    expect(sumContexts(t.freesByContext)).toBe(t.frees);
    expect(snap.contextSource).toBe('preempt_count');
    expect(t.allocsByContext.unknown).toBe(0);
  });

  it('totals are the sums over sites', () => {
    expect(snap.totals).toEqual(totalsOf(snap.sites));
    expect(snap.totals.liveObjects).toBe(snap.sites.reduce((n, s) => n + s.liveObjects, 0));
    expect(snap.totals.sites).toBe(raw.sites.length);
  });

  it('measures the window from the start', () => {
    expect(snap.window.durationMs).toBe(1000);
  });

  it('sorts by every key, largest first', () => {
    for (const k of SORT_KEYS) {
      const sorted = sortSites(snap.sites, k);
      /* rankValue: the key's value (a rate ranks as its count over the window). */
      for (let i = 1; i < sorted.length; i++) expect(rankValue(sorted[i - 1], k)).toBeGreaterThanOrEqual(rankValue(sorted[i], k));
    }
  });
});

describe('accuracy', () => {
  const none = { sitesFull: 0, liveFull: 0, liveUpdateFailed: 0, untrackedFrees: 0, siteMissing: 0, freesUnseen: 0, slabGone: 0, stacksLost: 0, detailsLost: 0, pageSitesLost: 0, recursionMisses: 0 };

  it('is exact when nothing was lost (untracked frees and reuse do not count)', () => {
    expect(accuracyOf({ ...none, untrackedFrees: 50, freesUnseen: 3, slabGone: 7 })).toEqual({
      approximate: false,
      maxLiveObjectsError: 0,
      phantomObjects: 0,
      upperBoundSites: 0,
      lowerBoundSites: 0,
      sweep: 'on',
      reasons: [],
    });
  });

  it('/proc/slabinfo unreadable or garbage: the phantom check is said to be off, not silently', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kmemtop-slabinfo-'));
    try {
      fs.writeFileSync(path.join(dir, 'garbage'), 'not slabinfo at all\n\x00\x01\n');
      expect(readSlabinfo(path.join(dir, 'garbage'))).toBeNull();
      expect(readSlabinfo(path.join(dir, 'absent'))).toBeNull();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    const raw = fixtureRaw();
    const syms = fixtureKallsyms();
    const snap = buildSnapshot({ ...raw, slabs: null }, raw, (ip) => syms.resolve(ip));
    expect(snap.accuracy).toMatchObject({ slabinfoRead: false, approximate: true });
    const text = renderText(toDocument(snap, { kind: 'snapshot', kernel: 'k', hostname: 'h' }, { sort: 'liveBytes', top: 1 }));
    expect(text).toMatch(/^phantom check off: \/proc\/slabinfo unreadable: tracked live objects were not checked/m);
    expect(buildSnapshot(raw, raw, (ip) => syms.resolve(ip)).accuracy.slabinfoRead).toBe(true);
  });

  it('marks a site with untracked allocations (live table full) as a lower bound, in JSON and text', () => {
    const raw = fixtureRaw();
    const syms = fixtureKallsyms();
    const full = { ...raw, lost: { ...raw.lost, liveFull: 7 }, sites: raw.sites.map((s, i) => (i === 0 ? { ...s, stats: { ...s.stats, untrackedAllocs: 7 } } : s)) };
    const snap = buildSnapshot(full, full, (ip) => syms.resolve(ip));
    const lower = snap.sites.filter((s) => s.liveObjectsLowerBound);
    expect(lower).toHaveLength(1);
    expect(snap.accuracy.lowerBoundSites).toBe(1);
    const doc = toDocument(snap, { kind: 'snapshot', kernel: 'k', hostname: 'h' }, { sort: 'liveBytes', top: 0 });
    const text = renderText(doc);
    expect(text).toMatch(/^lower bounds: 1 sites \(marked >=\) had allocations the live table could not take \(7 lost as live table full\)/m);
    expect(text.split('\n').filter((l) => / >=\S+ +>=\S+ /.test(' ' + l))).toHaveLength(1);
    expect(JSON.parse(renderJson(doc)).sites.filter((s: { liveObjectsLowerBound: boolean }) => s.liveObjectsLowerBound)).toHaveLength(1);
  });

  it('bounds the live error by every loss', () => {
    const a = accuracyOf({ ...none, recursionMisses: 3, liveFull: 10, sitesFull: 1 });
    expect(a.approximate).toBe(true);
    expect(a.maxLiveObjectsError).toBe(14);
    expect(a.reasons).toHaveLength(3);
  });
});

describe('report', () => {
  const doc = toDocument(snap, meta, { sort: 'allocs', top: 5 });

  it('keeps the top N sites in sort order', () => {
    expect(doc.sites).toHaveLength(5);
    expect(doc.sitesShown).toBe(5);
    expect(doc.sites[0].allocs).toBeGreaterThanOrEqual(doc.sites[4].allocs);
    expect(toDocument(snap, meta, { sort: 'allocs', top: 0 }).sites).toHaveLength(snap.sites.length);
  });

  it('JSON carries the documented fields', () => {
    const j = JSON.parse(renderJson(doc));
    expect(j).toMatchObject({ tool: 'kmemtop', schemaVersion: 1, kind: 'record', command: meta.command, exitCode: 0 });
    for (const k of ['function', 'offset', 'module', 'cache', 'allocs', 'frees', 'bytesRequested', 'bytesAllocated', 'liveObjects', 'liveBytes']) {
      expect(j.sites[0]).toHaveProperty(k);
    }
    for (const k of ['sitesFull', 'liveFull', 'liveUpdateFailed', 'untrackedFrees', 'siteMissing', 'freesUnseen', 'recursionMisses']) {
      expect(typeof j.lost[k]).toBe('number');
    }
  });

  it('writes no raw kernel address in text or JSON', () => {
    const all = renderText(doc) + renderJson(toDocument(snap, meta, { sort: 'allocs', top: 0 }));
    expect(all).not.toMatch(/ffff[0-9a-f]{12}/i);
    expect(all).not.toMatch(/\b\d{16,}\b/);
  });

  it('text shows the eventfd site, the losses line and how many sites were cut', () => {
    const text = renderText(doc);
    expect(text).toMatch(/^lost events: none$/m);
    expect(text).toMatch(/more call sites; --top 0 shows all/);
    expect(renderText(toDocument(snap, meta, { sort: 'allocs', top: 0 }))).toMatch(/do_eventfd\+0x[0-9a-f]+/);
  });

  it('text flags approximate figures', () => {
    const lossy = { ...snap, lost: { ...snap.lost, recursionMisses: 7 }, accuracy: accuracyOf({ ...snap.lost, recursionMisses: 7 }) };
    const text = renderText(toDocument(lossy, meta, { sort: 'allocs', top: 5 }));
    expect(text).toMatch(/lost events: recursion misses 7/);
    expect(text).toMatch(/approximate: off by at most 7 objects/);
  });
});

describe('sampling (1 object in N tracked)', () => {
  /* The fixture's counts as a sampled run would see them: every site's tracked objects are 1 in 8. */
  const N = 8;
  const sampledRaw = {
    ...raw,
    sampleOneIn: N,
    counters: { ...raw.counters, unsampledFrees: 700 },
    sites: raw.sites.map((r) => ({
      ...r,
      stats: {
        ...r.stats,
        sampledAllocs: Math.floor(sumContexts(r.stats.allocs) / N),
        frees: { ...r.stats.frees, task: Math.floor(r.stats.frees.task / N) },
      },
    })),
  };
  const s = buildSnapshot(sampledRaw, start, (ip) => syms.resolve(ip));

  it('keeps allocation counts exact, scales live objects, and derives frees so that objects are conserved', () => {
    sampledRaw.sites.forEach((r, i) => {
      const site = s.sites[i];
      const st = r.stats;
      expect(site.allocs).toBe(sumContexts(st.allocs));
      expect(site.allocsByContext).toEqual(st.allocs);
      expect(site.bytesAllocated).toBe(site.allocs * site.objectSize);
      const live = N * (st.sampledAllocs - st.untrackedAllocs - sumContexts(st.frees) - st.freesUnseen);
      expect(site.liveObjects).toBe(Math.min(Math.max(0, live), site.allocs));
      expect(site.liveBytes).toBe(site.liveObjects * site.objectSize);
      expect(site.allocs - site.untrackedAllocs - site.frees - site.freesUnseen).toBe(site.liveObjects);
      expect(sumContexts(site.freesByContext)).toBe(site.frees);
      expect(Math.min(site.frees, site.freesUnseen, site.untrackedAllocs)).toBeGreaterThanOrEqual(0);
    });
  });

  it('a churning site whose few addresses were never picked still shows its frees (all but the live)', () => {
    const churn = { ...raw.sites[0].stats, allocs: { task: 10000, taskBh: 0, softirq: 0, hardirq: 0, nmi: 0, unknown: 0 }, frees: { task: 0, taskBh: 0, softirq: 0, hardirq: 0, nmi: 0, unknown: 0 }, sampledAllocs: 0, untrackedAllocs: 0, freesUnseen: 0 };
    const e = estimateSampled(churn, 8);
    expect(sumContexts(e.frees)).toBe(10000);
    expect(e.frees.unknown).toBe(10000); /* no tracked free tells the context */
  });

  it('apportion splits a total by weights and keeps the sum', () => {
    expect(apportion(10, { task: 1, taskBh: 0, softirq: 2, hardirq: 0, nmi: 0, unknown: 0 })).toEqual({ task: 3, taskBh: 0, softirq: 7, hardirq: 0, nmi: 0, unknown: 0 });
    expect(sumContexts(apportion(1001, { task: 3, taskBh: 3, softirq: 3, hardirq: 0, nmi: 0, unknown: 0 }))).toBe(1001);
  });

  it('says so: sampling in the document, estimates marked in the text, free events exact', () => {
    const tracked = sampledRaw.sites.reduce((n, r) => n + sumContexts(r.stats.frees), 0);
    expect(s.sampling).toEqual({ oneIn: N, freeEvents: tracked + 700 + raw.lost.untrackedFrees });
    expect(s.accuracy.approximate).toBe(true);
    expect(s.accuracy.reasons).toContain('live figures estimated from 1 object in 8');
    const doc = toDocument(s, meta, { sort: 'liveBytes', top: 5 });
    expect(JSON.parse(renderJson(doc)).sampling).toEqual(s.sampling);
    const text = renderText(doc);
    expect(text).toMatch(/^sampling: 1 object in 8 tracked; .* free events seen: [\d,]+ \(exact\)$/m);
    expect(text).toMatch(/~LIVE BYTES +~LIVE OBJS +ALLOCS +~FREES/);
    expect(buildSnapshot(raw, start, (ip) => syms.resolve(ip)).sampling).toBeNull();
  });
});
