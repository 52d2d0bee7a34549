/*
 * Real-kernel tests: load the real programs, cause real allocations with
 * loadgen, and check what kmemtop reports.  Needs root and BPF; fails (not
 * skips) when KMEMTOP_REQUIRE_BPF=1.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Tracer } from '../src/collect/tracer';
import { sumContexts } from '../src/abi/layout';
import { Kallsyms } from '../src/sys/kallsyms';
import { buildSnapshot, Site, Snapshot } from '../src/model/snapshot';
import { assertBpfUsable, describeBpf, KMEMTOP, kmemtopProgIds, kmemtopProgIdsSettled, LOADGEN } from './helpers/bpf';
import { Holder, killHolder, releaseHolder, startHolder } from './helpers/loadgen';

const eventfdSites = (snap: Snapshot): Site[] => snap.sites.filter((s) => /eventfd/.test(s.function) && s.kind === 'kmalloc');
const sum = (sites: Site[], k: keyof Site) => sites.reduce((n, s) => n + (s[k] as number), 0);

describeBpf('real kernel: per-call-site accounting', () => {
  let progsBefore: number[] = [];
  let syms: Kallsyms;

  beforeAll(() => {
    assertBpfUsable();
    progsBefore = kmemtopProgIds();
    syms = Kallsyms.load();
  });

  function snapshotOf(t: Tracer): Snapshot {
    return buildSnapshot(t.read(), t.window, (ip) => syms.resolve(ip));
  }

  it('2000 eventfds opened and closed: >= 2000 allocations and frees at the eventfd site, ~0 live', () => {
    const t = Tracer.start({ maxLive: 65536 });
    let snap: Snapshot;
    try {
      execFileSync(LOADGEN, ['eventfd-churn', '2000']);
      snap = snapshotOf(t);
    } finally {
      t.close();
    }
    const sites = eventfdSites(snap);
    expect(sites.map((s) => s.function)).toContain('do_eventfd');
    expect(sum(sites, 'allocs')).toBeGreaterThanOrEqual(2000);
    expect(sum(sites, 'frees')).toBeGreaterThanOrEqual(2000);
    /* A free the kernel skipped as nested (counted: default mode) may leave one more looking live. */
    expect(sum(sites, 'liveObjects')).toBeLessThanOrEqual(2 + snap.lost.recursionMisses);
    /* The eventfd_ctx is a kmalloc: bytes requested <= allocated. */
    expect(sum(sites, 'bytesRequested')).toBeLessThanOrEqual(sum(sites, 'bytesAllocated'));
    expect(snap.lost.recursionMisses).toBeLessThanOrEqual(10);
    expect(snap.lost.liveFull + snap.lost.sitesFull + snap.lost.liveUpdateFailed).toBe(0);
  });

  it('2000 eventfds held open show as 2000 live objects, then freed when the holder exits', async () => {
    const t = Tracer.start({ maxLive: 65536 });
    let holder: Holder | null = null;
    try {
      holder = await startHolder('eventfd-hold', 2000);
      const held = eventfdSites(snapshotOf(t));
      expect(sum(held, 'liveObjects')).toBeGreaterThanOrEqual(2000);
      expect(sum(held, 'liveBytes')).toBeGreaterThanOrEqual(2000 * 64);

      await releaseHolder(holder);
      const after = eventfdSites(snapshotOf(t));
      expect(sum(after, 'frees')).toBeGreaterThanOrEqual(2000);
      expect(sum(after, 'liveObjects')).toBeLessThanOrEqual(2);
    } finally {
      await killHolder(holder);
      t.close();
    }
  });

  it('conservation: the live objects of all sites equal the entries of the live table', () => {
    const t = Tracer.start({ maxLive: 65536 });
    try {
      execFileSync(LOADGEN, ['eventfd-churn', '5000']);
      execFileSync('sh', ['-c', 'for i in 1 2 3 4 5 6 7 8 9 10; do /bin/true; done']);
      t.detach(); /* freeze the maps */
      const snap = snapshotOf(t);
      expect(snap.totals.liveObjects).toBe(t.liveEntries());
      for (const s of snap.sites) expect(s.liveObjects).toBe(s.allocs - s.untrackedAllocs - s.frees - s.freesUnseen);
    } finally {
      t.close();
    }
  });

  it('a site whose counters did not move is handed back as the same object (nothing decoded again)', () => {
    const t = Tracer.start({ maxLive: 65536, reclaim: false });
    try {
      execFileSync(LOADGEN, ['eventfd-churn', '1000']);
      const busy = t.read();
      execFileSync(LOADGEN, ['eventfd-churn', '1000']);
      t.detach();
      const a = t.read();
      const b = t.read();
      /* Frozen maps: every site the same object as in the read before. */
      expect(b.sites.length).toBe(a.sites.length);
      expect(b.sites.every((s, i) => s === a.sites[i])).toBe(true);
      /* The eventfd site moved between the first two reads: a new object with the new counts. */
      const ev = (r: typeof a) => r.sites.find((s) => syms.resolve(s.key.callSite)?.function === 'do_eventfd')!;
      expect(ev(a)).not.toBe(ev(busy));
      expect(ev(a).stats.allocs.task).toBeGreaterThanOrEqual(ev(busy).stats.allocs.task + 1000);
      expect(snapshotOf(t).sites.find((s) => s.function === 'do_eventfd')!.allocs).toBe(sumContexts(ev(a).stats.allocs));
    } finally {
      t.close();
    }
  });

  it('a live table too small: spills into the overflow map, then counts what it cannot track', async () => {
    /* 1024 objects -> 256 buckets of 8 slots and a 1024-entry overflow map: 3000 held eventfds cannot all fit. */
    const t = Tracer.start({ maxLive: 1024 });
    let holder: Holder | null = null;
    try {
      holder = await startHolder('eventfd-hold', 3000);
      t.detach();
      const snap = snapshotOf(t);
      expect(snap.counters.overflowInserts).toBeGreaterThan(0);
      expect(snap.lost.liveFull).toBeGreaterThan(0);
      expect(snap.accuracy.approximate).toBe(true);
      expect(snap.accuracy.maxLiveObjectsError).toBeGreaterThanOrEqual(snap.lost.liveFull);
      const ev = eventfdSites(snap);
      /* Every held eventfd is either live or counted as untracked: none vanishes. */
      expect(sum(ev, 'liveObjects') + sum(ev, 'untrackedAllocs')).toBeGreaterThanOrEqual(3000);
      expect(sum(snap.sites, 'untrackedAllocs')).toBe(snap.lost.liveFull + snap.lost.liveUpdateFailed);
      expect(snap.totals.liveObjects).toBe(t.liveEntries());
    } finally {
      await killHolder(holder);
      t.close();
    }
  });

  it('kmemtop record: the command output passes through, JSON report in -o, exit code kept', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kmemtop-rec-'));
    try {
      const out = path.join(dir, 'r.json');
      const r = spawnSync(KMEMTOP, ['record', '--json', '--top', '0', '-o', out, '--', LOADGEN, 'eventfd-churn', '2000'], {
        encoding: 'utf8',
      });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toBe('eventfd-churn 2000\n');
      const doc = JSON.parse(fs.readFileSync(out, 'utf8'));
      expect(doc).toMatchObject({ tool: 'kmemtop', schemaVersion: 1, kind: 'record', exitCode: 0 });
      expect(doc.command).toEqual([LOADGEN, 'eventfd-churn', '2000']);
      const ev = doc.sites.filter((s: Site) => s.function === 'do_eventfd');
      expect(ev).toHaveLength(1);
      expect(ev[0].allocs).toBeGreaterThanOrEqual(2000);
      expect(ev[0].frees).toBeGreaterThanOrEqual(2000);
      expect(ev[0].liveObjects).toBeLessThanOrEqual(2);
      expect(ev[0].offset).toBeGreaterThan(0);
      expect(JSON.stringify(doc)).not.toMatch(/ffff[0-9a-f]{12}/i);
      /* The kernel memory of kmemtop's maps is reported, and bounded by the options. */
      expect(doc.maps.kernelBytes).toBeGreaterThan(10 << 20);
      const small = spawnSync(KMEMTOP, ['record', '--json', '--max-live', '65536', '--max-sites', '4096', '--', 'true'], { encoding: 'utf8' });
      expect(JSON.parse(small.stdout).maps.kernelBytes).toBeLessThan(doc.maps.kernelBytes / 4);

      const text = spawnSync(KMEMTOP, ['record', '--top', '50', '--sort', 'allocs', '--', 'sh', '-c', `${LOADGEN} eventfd-churn 500 >/dev/null; exit 3`], {
        encoding: 'utf8',
      });
      expect(text.status).toBe(3);
      expect(text.stdout).toMatch(/command exited with code 3/);
      expect(text.stdout).toMatch(/do_eventfd\+0x[0-9a-f]+/);
      expect(text.stdout).toMatch(/^lost events: /m);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('kmemtop snapshot --duration traces the whole machine for that long', () => {
    const r = spawnSync(KMEMTOP, ['snapshot', '--duration', '1', '--json'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.kind).toBe('snapshot');
    expect(doc.window.durationMs).toBeGreaterThanOrEqual(950);
    expect(doc.window.durationMs).toBeLessThan(3000);
  });

  it('nothing of kmemtop stays loaded after the tests', async () => {
    expect(await kmemtopProgIdsSettled(progsBefore)).toEqual(progsBefore);
  });
});
