/* The session file's check (pure): what a damaged or planted settings file is refused for. */
import { metaProblem } from '../src/session';

const good = {
  version: 1,
  state: 'running',
  pid: 42,
  startedAt: '2026-11-30T00:00:00.000Z',
  startedMonotonicMs: 1234.5,
  meminfoAtStart: { totalKb: 24000000, slabReclaimableKb: 17000, slabUnreclaimableKb: 26000, lruAnonKb: 1, lruFileKb: 2 },
  maxLive: 1048576,
  maxSites: 16384,
  maxCaches: 1024,
  catchNested: false,
  sampleOneIn: 1,
  pages: true,
  preemptCountDelta: 0,
  programs: [{ name: 'kmemtop__kmalloc', tracepoint: 'kmalloc' }],
  reclaimPrograms: [{ name: 'kmemtop__compact_try', tracepoint: 'mm_compaction_try_to_compact_pages' }],
  reclaimUnavailable: null,
};

describe('session settings check', () => {
  it('accepts whole settings, with or without the meminfo at start (older sessions)', () => {
    expect(metaProblem(good)).toBeNull();
    const { meminfoAtStart: _m, ...older } = good;
    expect(metaProblem(older)).toBeNull();
  });

  it.each([
    ['meminfoAtStart', { ...good, meminfoAtStart: { totalKb: 'x' } }],
    ['meminfoAtStart', { ...good, meminfoAtStart: [1, 2] }],
    ['meminfoAtStart', { ...good, meminfoAtStart: null }],
    ['pages', { ...good, pages: 'yes' }],
    ['programs', { ...good, programs: [{ name: '../../etc', tracepoint: 'x' }] }],
    ['pid', { ...good, pid: -1 }],
  ])('refuses a bad %s', (field, meta) => {
    expect(metaProblem(meta)).toBe(field);
  });
});
