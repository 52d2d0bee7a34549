/*
 * The timeline file, on snapshots built from a capture of the real kernel
 * (test/fixtures/raw-eventfd.json): frames written and read back whole,
 * only changed sites in a delta frame, a file cut at every byte opens up to
 * its last whole frame, --timeline-max holds the file under its size, and
 * what is not a timeline (or another user's file, or a symlink) is refused.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildSnapshot, Snapshot } from '../src/model/snapshot';
import { decodeFrames, MAGIC, parseTimeIn, Replay } from '../src/timeline/format';
import { readTimeline, TimelineWriter } from '../src/timeline/file';
import { fixtureKallsyms, fixtureRaw } from './helpers/fixtures';

const raw = fixtureRaw();
const syms = fixtureKallsyms();
const base = buildSnapshot(raw, { wallTime: new Date(raw.wallTime.getTime() - 2000), monotonicMs: raw.monotonicMs - 2000 }, (ip) => syms.resolve(ip));

/* The capture i seconds on: site 0 allocates 1000 more each step, the rest stay as they were. */
function later(i: number): Snapshot {
  const end = new Date(Date.parse(base.window.end) + i * 1000).toISOString();
  const sites = base.sites.map((s, j) => (j === 0 ? { ...s, allocs: s.allocs + 1000 * i, liveObjects: s.liveObjects + 1000 * i, liveBytes: (s.liveObjects + 1000 * i) * s.objectSize } : s));
  return { ...base, sites, window: { ...base.window, end } };
}

describe('timeline file', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kmemtop-timeline-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes a key frame, then only the sites that changed; reads every frame back as the snapshot it was', () => {
    const file = path.join(dir, 't.kmt');
    const w = TimelineWriter.open(file, { intervalMs: 0, maxBytes: 1 << 30 });
    for (let i = 0; i < 5; i++) expect(w.add(later(i))).toBe(true);
    w.close();
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const { replay, size, goodBytes } = readTimeline(file);
    expect([replay.length, goodBytes]).toEqual([5, size]);
    expect(replay.frames[0]).toMatchObject({ key: true });
    expect(replay.frames[0].sites.length).toBe(base.sites.length);
    for (let i = 1; i < 5; i++) expect(replay.frames[i]).toMatchObject({ key: false, sites: [expect.objectContaining({ id: base.sites[0].id })] });
    const s3 = replay.snapshot(3);
    expect(s3.sites.length).toBe(base.sites.length);
    expect(s3.sites.find((s) => s.id === base.sites[0].id)!.allocs).toBe(base.sites[0].allocs + 3000);
    expect(s3.totals).toEqual(base.totals);
    expect(replay.indexAt(Date.parse(later(2).window.end) + 500)).toBe(2);
    /* Appending later goes on from a new key frame. */
    const again = TimelineWriter.open(file, { intervalMs: 0, maxBytes: 1 << 30 });
    again.add(later(5));
    again.close();
    const r2 = readTimeline(file).replay;
    expect(r2.length).toBe(6);
    expect(r2.frames[5].key).toBe(true);
    expect(r2.frames[5].ms).toBe(5000);
  });

  it('a file cut at any byte opens up to its last whole frame; a writer cuts a torn last frame off before appending', () => {
    const file = path.join(dir, 't.kmt');
    const w = TimelineWriter.open(file, { intervalMs: 0, maxBytes: 1 << 30 });
    for (let i = 0; i < 4; i++) w.add(later(i));
    w.close();
    const buf = fs.readFileSync(file);
    const whole = decodeFrames(buf)!.frames.map((f) => f.offset + f.bytes);
    for (let cut = MAGIC.length; cut <= buf.length; cut += 7) {
      const d = decodeFrames(buf.subarray(0, cut))!;
      expect(d.frames.length).toBe(whole.filter((end) => end <= cut).length);
    }
    /* A flipped byte in the last frame: that frame is dropped, not read wrong. */
    const bad = Buffer.from(buf);
    bad[bad.length - 3] ^= 0xff;
    expect(decodeFrames(bad)!.frames.length).toBe(3);
    fs.writeFileSync(file, buf.subarray(0, buf.length - 10));
    const w2 = TimelineWriter.open(file, { intervalMs: 0, maxBytes: 1 << 30 });
    w2.add(later(9));
    w2.close();
    expect(readTimeline(file).replay.length).toBe(4);
  });

  it('--timeline-max: the oldest frames go, the file stays under it and starts at a key frame', () => {
    const file = path.join(dir, 't.kmt');
    const frame = decodeFrames(Buffer.concat([Buffer.from(MAGIC), (() => {
      const tmp = path.join(dir, 'one.kmt');
      const w = TimelineWriter.open(tmp, { intervalMs: 0, maxBytes: 1 << 30 });
      w.add(later(0));
      w.close();
      return fs.readFileSync(tmp).subarray(MAGIC.length);
    })()]))!.frames[0].bytes;
    const max = frame * 4;
    const w = TimelineWriter.open(file, { intervalMs: 0, maxBytes: max });
    for (let i = 0; i < 200; i++) {
      w.add(later(i));
      expect(fs.statSync(file).size).toBeLessThanOrEqual(max);
    }
    w.close();
    expect(w.rewrites).toBeGreaterThan(0);
    const { replay } = readTimeline(file);
    expect(replay.frames[0].key).toBe(true);
    const last = replay.snapshot(replay.length - 1);
    expect(last.sites.find((s) => s.id === base.sites[0].id)!.allocs).toBe(base.sites[0].allocs + 199 * 1000);
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('.'))).toEqual([]);
  });

  it('refuses what is not a timeline, a symlink, and says so in one line', () => {
    const other = path.join(dir, 'notes.txt');
    fs.writeFileSync(other, 'my notes\n');
    expect(() => TimelineWriter.open(other, { intervalMs: 0, maxBytes: 1 << 20 })).toThrow(/exists and is not a kmemtop timeline: refused/);
    expect(fs.readFileSync(other, 'utf8')).toBe('my notes\n');
    const link = path.join(dir, 'link.kmt');
    fs.symlinkSync(other, link);
    expect(() => TimelineWriter.open(link, { intervalMs: 0, maxBytes: 1 << 20 })).toThrow(/it is a symlink/);
    expect(() => readTimeline(other)).toThrow(/is not a kmemtop timeline/);
    expect(new Replay([]).length).toBe(0);
  });

  it('reads times within a recording', () => {
    const first = '2026-12-05T05:10:00.000Z';
    const last = '2026-12-05T05:40:00.000Z';
    expect(parseTimeIn('start', first, last)).toBe(Date.parse(first));
    expect(parseTimeIn('end', first, last)).toBe(Date.parse(last));
    expect(parseTimeIn('-5m', first, last)).toBe(Date.parse('2026-12-05T05:35:00.000Z'));
    expect(parseTimeIn('+90s', first, last)).toBe(Date.parse('2026-12-05T05:11:30.000Z'));
    expect(parseTimeIn('05:20', first, last)).toBe(Date.parse('2026-12-05T05:20:00.000Z'));
    expect(parseTimeIn('05:20:30', first, last)).toBe(Date.parse('2026-12-05T05:20:30.000Z'));
    expect(parseTimeIn('2026-12-05T05:25:00Z', first, last)).toBe(Date.parse('2026-12-05T05:25:00.000Z'));
    expect(parseTimeIn('soon', first, last)).toBeNull();
  });
});
