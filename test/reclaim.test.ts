/*
 * Shrinkers, reclaim and OOM kills on the real kernel: drop_caches, real
 * pressure in a small memory cgroup, and a real OOM kill.  Needs root and BPF.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { traced as tracedWith } from './helpers/trace';
import { Kallsyms } from '../src/sys/kallsyms';
import { Snapshot } from '../src/model/snapshot';
import { renderJson, renderText, toDocument } from '../src/output/report';
import { assertBpfUsable, describeBpf, kmemtopProgIds, kmemtopProgIdsSettled, LOADGEN } from './helpers/bpf';
import { MemCgroup } from './helpers/cgroup';

describeBpf('real kernel: shrinkers, reclaim, OOM kills', () => {
  let syms: Kallsyms;
  let progsBefore: number[] = [];
  let dir: string;

  beforeAll(() => {
    assertBpfUsable();
    syms = Kallsyms.load();
    progsBefore = kmemtopProgIds();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kmemtop-reclaim-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const traced = (work: () => void) => tracedWith(syms, work, { maxLive: 1 << 18 });

  it('many dentries, then drop_caches: the superblock shrinker is asked and frees', () => {
    const d = path.join(dir, 'dentries');
    const snap = traced(() => {
      fs.mkdirSync(d);
      for (let i = 0; i < 5000; i++) fs.writeFileSync(path.join(d, `f${i}`), '');
      for (let i = 0; i < 5000; i++) fs.existsSync(path.join(d, `missing-${i}`)); /* negative dentries */
      fs.writeFileSync('/proc/sys/vm/drop_caches', '2');
    });
    expect(snap.shrinkers).not.toBeNull();
    const sb = snap.shrinkers!.filter((s) => s.scanFunction !== null && /^super_cache_scan\+/.test(s.scanFunction));
    expect(sb.length).toBeGreaterThan(0);
    expect(sb.reduce((n, s) => n + s.requested, 0)).toBeGreaterThan(0);
    expect(sb.reduce((n, s) => n + s.freed, 0)).toBeGreaterThan(0);
    /* Named by function and superblock, never by address. */
    expect(sb.some((s) => /^super_cache_scan \(\w+ \S+\)$/.test(s.name))).toBe(true);
    for (const s of snap.shrinkers!) {
      expect(s.name).not.toMatch(/0x|ffff/);
      expect(s.calls).toBeGreaterThan(0);
      expect(s.scanned).toBeLessThanOrEqual(s.requested);
      expect(s.timeNs).toBeGreaterThanOrEqual(0);
    }
    const doc = toDocument(snap, { kind: 'snapshot', kernel: os.release(), hostname: os.hostname() }, { sort: 'liveBytes', top: 5 });
    expect(renderText(doc)).toMatch(/^Shrinkers: asked to scan vs freed/m);
    expect(renderText(doc)).toMatch(/super_cache_scan \(/);
    const j = JSON.parse(renderJson(doc));
    for (const k of ['name', 'calls', 'requested', 'freed', 'timeNs']) expect(j.shrinkers[0]).toHaveProperty(k);
    expect(j.reclaim).toHaveProperty('direct');
    expect(JSON.stringify(j)).not.toMatch(/ffff[0-9a-f]{12}/i);
  });

  it('real pressure: page cache and slab filled in a 64 MiB memory cgroup make reclaim run and call shrinkers', () => {
    const cg = new MemCgroup('kmemtop-test-reclaim', 64 << 20);
    let snap: Snapshot;
    try {
      const d = path.join(dir, 'pressure');
      fs.mkdirSync(d);
      /*
       * Written outside the cgroup and dropped from the page cache: read back
       * inside it, it fills the cgroup with clean, reclaimable page cache
       * (dirty pages in a small cgroup v1 tend to end in an OOM kill instead).
       */
      execFileSync('dd', ['if=/dev/zero', `of=${d}/big`, 'bs=1M', 'count=256', 'status=none']);
      execFileSync('sync');
      fs.writeFileSync('/proc/sys/vm/drop_caches', '1');
      /*
       * Whether the reader survives is the kernel's business (cgroup v1 here
       * OOM-kills a reader of clean page cache after a while); what matters is
       * that reclaim ran and what it asked of the shrinkers.
       */
      snap = traced(() => {
        cg.run(`i=0; while [ $i -lt 3000 ]; do : > ${d}/f$i; i=$((i+1)); done; cat ${d}/big > /dev/null`);
      });
    } finally {
      cg.remove();
    }
    const r = snap.reclaim!;
    expect(r.memcg.count).toBeGreaterThan(0);
    expect(r.memcg.reclaimedPages).toBeGreaterThan(0);
    expect(r.memcg.stallNs).toBeGreaterThan(0);
    expect(r.memcg.maxStallNs).toBeLessThanOrEqual(r.memcg.stallNs);
    const called = snap.shrinkers!.filter((s) => s.calls > 0);
    expect(called.length).toBeGreaterThan(0);
    expect(called.reduce((n, s) => n + s.requested, 0)).toBeGreaterThan(0);
    const text = renderText(toDocument(snap, { kind: 'snapshot', kernel: 'k', hostname: 'h' }, { sort: 'liveBytes', top: 1 }));
    expect(text).toMatch(/^memcg reclaim: [\d,]+, stalled .* reclaimed [\d,]+ pages$/m);
    expect(fs.existsSync(cg.dir)).toBe(false);
  });

  it('an OOM kill in a 48 MiB memory cgroup shows the victim under reclaim', () => {
    const cg = new MemCgroup('kmemtop-test-oom', 48 << 20);
    let snap: Snapshot;
    let status: ReturnType<MemCgroup['run']>;
    try {
      snap = traced(() => {
        status = cg.run(`exec ${LOADGEN} anon 200 < /dev/null`);
      });
    } finally {
      cg.remove();
    }
    expect(status!.signal).toBe('SIGKILL');
    const r = snap.reclaim!;
    expect(r.oomKills).toBeGreaterThanOrEqual(1);
    const v = r.oomVictims.find((x) => x.comm === 'loadgen');
    expect(v).toBeDefined();
    expect(v!.pid).toBeGreaterThan(0);
    expect(Date.parse(v!.time)).toBeGreaterThan(Date.now() - 120000);
    /* The victim's memory cgroup, its limit, and the request the kill served (the charge that entered memcg reclaim). */
    expect(v!.memcg!.path).toBe(`/${path.basename(cg.dir)}`);
    expect(v!.memcg!.figures!.limitBytes).toBe(48 << 20);
    expect(v!.rssBytes).toBeGreaterThan(16 << 20);
    expect(v!.request).toMatchObject({ kind: 'memcg', comm: 'loadgen', order: 0, gfp: expect.stringMatching(/GFP_/) });
    const text = renderText(toDocument(snap, { kind: 'snapshot', kernel: 'k', hostname: 'h' }, { sort: 'liveBytes', top: 1 }));
    expect(text).toMatch(/OOM kills: \d+: .*loadgen \(pid \d+\) at \S+ in memory cgroup \/kmemtop-test-oom/);
    /* A charge, not a page allocation: compaction is said not to apply, and nothing was recorded for it. */
    expect(v!.compaction).toBeNull();
  });

  it('leaves nothing loaded and no cgroup behind', async () => {
    expect(await kmemtopProgIdsSettled(progsBefore)).toEqual(progsBefore);
    const left = spawnSync('sh', ['-c', 'ls -d /sys/fs/cgroup/memory/kmemtop-test-* /sys/fs/cgroup/kmemtop-test-* 2>/dev/null'], { encoding: 'utf8' });
    expect(left.stdout).toBe('');
    execFileSync('true');
  });
});
