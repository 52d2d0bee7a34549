/* Shrinker and reclaim model (pure), on data captured from the real kernel. */
import { reclaimSummary, shrinkerRows, stubbornShrinkers, wallTime, STUBBORN_MIN_REQUESTED } from '../src/model/shrinkers';
import { reclaimLines } from '../src/output/report';
import type { RawReclaim } from '../src/collect/raw';
import { fixtureKallsyms, fixtureRaw } from './helpers/fixtures';

const raw = fixtureRaw();
const syms = fixtureKallsyms();
const resolve = (ip: bigint) => syms.resolve(ip);

describe('shrinkers (captured around drop_caches)', () => {
  const reclaim = raw.reclaim!;
  const rows = shrinkerRows(reclaim, resolve, raw.wallTime);

  it('names shrinkers by scan function, superblocks by file system and device', () => {
    expect(rows.length).toBe(new Set(reclaim.shrinkers.map((s) => s.shrinker)).size);
    const ext4 = rows.find((r) => r.superblock?.fsType === 'ext4')!;
    expect(ext4.name).toMatch(/^super_cache_scan \(ext4 \S+\)$/);
    expect(ext4.scanFunction).toMatch(/^super_cache_scan\+0x0$/);
    for (const r of rows) expect(r.name).not.toMatch(/0x|ffff/);
  });

  it('sums calls, requests and frees per shrinker over its nodes', () => {
    for (const r of rows) {
      const parts = reclaim.shrinkers.filter((s) => r.nodes.some((n) => n.node === s.nid) && resolve(s.info!.scanObjects)?.function === r.scanFunction?.split('+')[0]);
      expect(parts.length).toBeGreaterThan(0);
      expect(r.calls).toBe(r.nodes.reduce((n, x) => n + x.calls, 0));
      expect(r.freed).toBe(r.nodes.reduce((n, x) => n + x.freed, 0));
      expect(r.scanned).toBeLessThanOrEqual(r.requested);
      expect(r.nsPerFreed === null ? r.freed === 0 : r.nsPerFreed === Math.round(r.timeNs / r.freed)).toBe(true);
    }
    expect(rows[0].freed).toBeGreaterThanOrEqual(rows[rows.length - 1].freed);
  });

  it('flags shrinkers asked much and freeing little', () => {
    const mk = (requested: number, freed: number) =>
      ({
        shrinker: BigInt(requested * 100000 + freed),
        nid: 0,
        info: null,
        stats: { calls: 1, ended: 1, objects_sum: 0, objects_last: 0, requested, scanned: requested, freed, deferred_in: 0, deferred_last: 0, time_ns: 1000, max_time_ns: 1000, last_call_ns: 1 },
      }) as RawReclaim['shrinkers'][number];
    const r: RawReclaim = { ...reclaim, shrinkers: [mk(STUBBORN_MIN_REQUESTED * 10, 5), mk(STUBBORN_MIN_REQUESTED * 10, 9000), mk(10, 0)] };
    const flagged = stubbornShrinkers(shrinkerRows(r, resolve, raw.wallTime));
    expect(flagged.map((x) => x.freed)).toEqual([5]);
    expect(reclaimLines({ shrinkers: shrinkerRows(r, resolve, raw.wallTime), reclaim: reclaimSummary(r, raw.wallTime), reclaimUnavailable: null }).join('\n')).toMatch(
      /asked much, freed little/,
    );
  });

  it('turns kernel time stamps into wall time', () => {
    const now = new Date('2026-11-26T02:00:00.000Z');
    expect(wallTime(5e9, 7e9, now)).toBe('2026-11-26T01:59:58.000Z');
  });

  it('says why when shrinkers were not traced', () => {
    expect(reclaimLines({ shrinkers: null, reclaim: null, reclaimUnavailable: 'not traced (reclaim off)' })).toEqual([
      'shrinkers and reclaim: not traced (reclaim off)',
    ]);
  });
});
