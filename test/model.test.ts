/* The pure snapshot model and report, on a RawSnapshot captured from the real kernel. */
import { accuracyOf, buildSnapshot, siteBytes, sortSites, SORT_KEYS, totalsOf } from '../src/model/snapshot';
import { renderJson, renderText, toDocument } from '../src/output/report';
import { fixtureKallsyms, fixtureRaw } from './helpers/fixtures';

const raw = fixtureRaw();
const syms = fixtureKallsyms();
const start = { wallTime: new Date(raw.wallTime.getTime() - 1000), monotonicMs: raw.monotonicMs - 1000 };
const snap = buildSnapshot(raw, start, (ip) => syms.resolve(ip));
const meta = { kind: 'record' as const, kernel: '6.18.44', hostname: 'vm', command: ['loadgen', 'eventfd-churn', '2000'], exitCode: 0 };

describe('snapshot model', () => {
  it('symbolizes every site and names caches', () => {
    expect(snap.sites.every((s) => s.function !== '[unknown]')).toBe(true);
    const eventfd = snap.sites.find((s) => s.function === 'do_eventfd')!;
    expect(eventfd).toMatchObject({ cache: null, liveObjects: 0, liveBytes: 0 });
    expect(eventfd.allocs).toBeGreaterThanOrEqual(2000);
    expect(eventfd.frees).toBe(eventfd.allocs);
    const filp = snap.sites.find((s) => s.cache === 'filp')!;
    expect(filp.function).toBe('alloc_empty_file');
    expect(filp.allocs).toBeGreaterThanOrEqual(2000);
  });

  it('conserves objects and bytes per site', () => {
    for (const [r, s] of raw.sites.map((r, i) => [r, snap.sites[i]] as const)) {
      const st = r.stats;
      expect(s.liveObjects).toBe(st.allocs - st.untracked_allocs - st.frees - st.frees_unseen);
      expect(s.liveObjects).toBeGreaterThanOrEqual(0);
      if (r.key.cache === 0n) {
        expect(s.liveBytes).toBe(st.bytes_alloc - st.untracked_bytes - st.freed_bytes - st.unseen_bytes);
      } else {
        /* Cache sites: the kernel counts objects, bytes follow from the cache's sizes. */
        const c = raw.caches.get(r.key.cache)!;
        expect(st.bytes_alloc).toBe(0);
        expect(s.liveBytes).toBe(s.liveObjects * c.size);
        expect(s.bytesRequested).toBe(s.allocs * c.objectSize);
      }
    }
  });

  it('derives cache-site bytes from the cache sizes, kmalloc bytes from the counters', () => {
    const st = { allocs: 10, frees: 4, bytes_req: 700, bytes_alloc: 1024, freed_bytes: 512, untracked_allocs: 1, untracked_bytes: 128, frees_unseen: 2, unseen_bytes: 64, failed_allocs: 0 };
    expect(siteBytes(st, null)).toEqual({ requested: 700, allocated: 1024, freed: 512, untracked: 128, unseen: 64 });
    expect(siteBytes(st, { name: 'filp', objectSize: 184, size: 192 })).toEqual({
      requested: 1840,
      allocated: 1920,
      freed: 768,
      untracked: 192,
      unseen: 384,
    });
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
      for (let i = 1; i < sorted.length; i++) expect(sorted[i - 1][k]).toBeGreaterThanOrEqual(sorted[i][k]);
    }
  });
});

describe('accuracy', () => {
  const none = { sitesFull: 0, liveFull: 0, liveUpdateFailed: 0, untrackedFrees: 0, siteMissing: 0, freesUnseen: 0, recursionMisses: 0 };

  it('is exact when nothing was lost (untracked frees and reuse do not count)', () => {
    expect(accuracyOf({ ...none, untrackedFrees: 50, freesUnseen: 3 })).toEqual({ approximate: false, maxLiveObjectsError: 0, reasons: [] });
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
    expect(text).toMatch(/do_eventfd\+0x[0-9a-f]+/);
    expect(text).toMatch(/^lost events: none$/m);
    expect(text).toMatch(/more call sites; --top 0 shows all/);
  });

  it('text flags approximate figures', () => {
    const lossy = { ...snap, lost: { ...snap.lost, recursionMisses: 7 }, accuracy: accuracyOf({ ...snap.lost, recursionMisses: 7 }) };
    const text = renderText(toDocument(lossy, meta, { sort: 'allocs', top: 5 }));
    expect(text).toMatch(/lost events: recursion misses 7/);
    expect(text).toMatch(/approximate: off by at most 7 objects/);
  });
});
