/*
 * Honest rows on the real kernel: leak-free churn (spawns, epoll, netns,
 * UDP) does not look like growth, a real leak does, exactly; the sweep
 * retires dead objects whose slab is gone and never a live one.  Needs
 * root and BPF.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Tracer } from '../src/collect/tracer';
import { Kallsyms } from '../src/sys/kallsyms';
import { buildSnapshot, Site, Snapshot } from '../src/model/snapshot';
import { slabGroup } from '../src/model/reconcile';
import { readSlabinfo } from '../src/sys/slabinfo';
import { assertBpfUsable, describeBpf, KMEMTOP, kmemtopProgIds, kmemtopProgIdsSettled, LOADGEN } from './helpers/bpf';
import { Holder, killHolder, releaseHolder, startHeldBack, startHolder } from './helpers/loadgen';
import { PIN_DIR } from '../src/session';

const run = (...args: string[]) => spawnSync(KMEMTOP, args, { encoding: 'utf8' });
const live = (snap: Snapshot, fn: string) => snap.sites.filter((s) => s.function === fn).reduce((n, s) => n + s.liveObjects, 0);

describeBpf('real kernel: honest rows (sweep, upper bounds, diff on what is real)', () => {
  let syms: Kallsyms;
  let progsBefore: number[] = [];
  let dir: string;

  beforeAll(() => {
    assertBpfUsable();
    expect(fs.existsSync(PIN_DIR)).toBe(false);
    syms = Kallsyms.load();
    progsBefore = kmemtopProgIds();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kmemtop-trust-'));
  });
  afterAll(() => {
    run('stop');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a CI gate passes over 3000 spawns, 20,000 epoll+eventfd churns, 100 netns and 20,000 files, and fails on 3000 held UNIX sockets and 5000 eventfds, counted exactly', async () => {
    expect(run('start', '--catch-nested').status).toBe(0);
    const [a, b, c] = ['a.json', 'b.json', 'c.json'].map((f) => path.join(dir, f));
    const held: Holder[] = [];
    try {
      expect(run('snapshot', '--json', '--top', '0', '-o', a).status).toBe(0);
      execFileSync(LOADGEN, ['spawn', '3000']);
      execFileSync(LOADGEN, ['epoll-churn', '20000']);
      execFileSync(LOADGEN, ['netns', '100']);
      const files = fs.mkdtempSync(path.join(dir, 'files-'));
      execFileSync('sh', ['-c', 'i=0; while [ $i -lt 20000 ]; do : > "$1/f$i"; i=$((i+1)); done; rm -f "$1"/f*', 'sh', files]);
      expect(run('snapshot', '--json', '--top', '0', '-o', b).status).toBe(0);
      const churn = run('diff', a, b, '--fail-on-growth', '1048576');
      expect([churn.status, churn.stderr]).toEqual([0, '']);
      expect(churn.stdout).toMatch(/^accuracy: .*a\.json: .*sweep on$/m);
      /* The negative dentries the files leave are real, reclaimable memory: shown apart, and gated only when asked. */
      expect(churn.stdout).toMatch(/in reclaimable caches/);

      /* The holders and their pipes (UNIX sockets of node's own) exist before b; their objects only after. */
      const unix = await startHeldBack('unix-hold', 3000);
      const efd = await startHeldBack('eventfd-hold', 5000);
      held.push(unix.holder, efd.holder);
      expect(run('snapshot', '--json', '--top', '0', '-o', b).status).toBe(0);
      await unix.go();
      await efd.go();
      expect(run('snapshot', '--json', '--top', '0', '-o', c).status).toBe(0);
    } finally {
      for (const h of held) await releaseHolder(h);
      for (const h of held) await killHolder(h);
      run('stop');
    }
    const leak = run('diff', b, c, '--json', '--fail-on-growth', '1048576');
    expect(leak.status).toBe(1);
    expect(leak.stderr).toMatch(/^kmemtop: live bytes grew by \d+, more than --fail-on-growth 1048576\n$/);
    const rows = JSON.parse(leak.stdout).rows as { function: string; cache: string; cacheAliases: string[]; liveObjectsDelta: number; status: string }[];
    const sock = rows.filter((r) => r.function === 'sk_prot_alloc' && [r.cache, ...r.cacheAliases].includes('UNIX'));
    expect(sock).toHaveLength(1);
    expect(sock[0]).toMatchObject({ liveObjectsDelta: 3000 });
    expect(sock[0].status).not.toBe('uncertain');
    /* Without --stacks nothing says which name of the merged slab: the text names the group, never signal_cache alone. */
    const line = run('diff', b, c, '--match', '^sk_prot_alloc$').stdout.split('\n').find((l) => /\ssk_prot_alloc\b/.test(l) && /\bUNIX\b/.test(l));
    expect(line).toMatch(sock[0].cacheAliases.length ? /\s\S+\|\S+\s+sk_prot_alloc\b/ : /\sUNIX\s+sk_prot_alloc\b/);
    const ev = rows.filter((r) => r.function === 'do_eventfd');
    expect(ev.map((r) => r.liveObjectsDelta)).toEqual([5000]);
  });

  it('after spawns, UDP, epoll and netns churn: every cache at or under slabinfo num_objs, upper bounds flagged, accuracy not exact while phantoms remain', () => {
    const t = Tracer.start({});
    let snap: Snapshot;
    try {
      execFileSync(LOADGEN, ['spawn', '1500']);
      execFileSync(LOADGEN, ['udp-stream', '50000']);
      execFileSync(LOADGEN, ['epoll-churn', '10000']);
      execFileSync(LOADGEN, ['netns', '50']);
      t.detach();
      snap = buildSnapshot(t.read(), t.window, (ip) => syms.resolve(ip));
    } finally {
      t.close();
    }
    expect(snap.sweep).toMatchObject({ available: true, reason: null });
    expect(snap.sweep.runs).toBeGreaterThanOrEqual(1);
    /* The stamps' clock (jiffies, bpf/stamp.h) is seconds since boot: the sweep's now is the uptime (jiffies start ~1 s into boot). */
    const uptime = Number(fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    expect(Math.abs(snap.sweep.last!.now - uptime)).toBeLessThanOrEqual(5);
    /* The sweep retired objects whose slab had gone back to the page allocator. */
    expect(snap.lost.slabGone).toBeGreaterThan(0);
    expect(snap.accuracy.sweep).toBe('on');
    const caches = snap.caches!;
    expect(caches.length).toBeGreaterThan(10);
    /* Every tracked object is in a slab of its cache: no cache tracks more than it has room for. */
    for (const c of caches) expect([c.cache, c.trackedLiveObjects]).toEqual([c.cache, Math.min(c.trackedLiveObjects, c.slabTotalObjects)]);
    const over = new Set(caches.filter((c) => c.trackedLiveObjects > c.slabActiveObjects).map((c) => c.cache));
    const group = (s: Site) => (s.cache === 'kmalloc-large' ? null : slabGroup(s.cache));
    for (const s of snap.sites) {
      const g = group(s);
      expect([s.function, s.cache, s.liveObjectsUpperBound]).toEqual([s.function, s.cache, g !== null && over.has(g)]);
      if (s.liveObjectsUpperBound) expect(s.liveObjectsEstimate).toBeLessThanOrEqual(s.liveObjects);
    }
    if (snap.totals.phantomObjects > 0) {
      expect(snap.accuracy.approximate).toBe(true);
      expect(snap.accuracy.upperBoundSites).toBeGreaterThan(0);
      expect(snap.accuracy.maxLiveObjectsError).toBeGreaterThanOrEqual(snap.totals.phantomObjects);
    }
  });

  it('the sweep never retires a live object: held eventfds, open files and sockets survive every sweep', async () => {
    const t = Tracer.start({});
    const holders: Holder[] = [];
    let snaps: Snapshot[] = [];
    try {
      for (const [mode, n] of [
        ['eventfd-hold', 5000],
        ['files-hold', 10000],
        ['unix-hold', 2000],
      ] as const) {
        holders.push(await startHolder(mode, n));
      }
      /* Churn that frees slabs back to the page allocator meanwhile, sweeping after each. */
      for (const work of [['spawn', '500'], ['udp-stream', '30000'], ['epoll-churn', '5000']]) {
        execFileSync(LOADGEN, work);
        snaps.push(buildSnapshot(t.read(), t.window, (ip) => syms.resolve(ip)));
      }
    } finally {
      for (const h of holders) await releaseHolder(h);
      for (const h of holders) await killHolder(h);
      t.close();
    }
    expect(snaps[snaps.length - 1].sweep.runs).toBe(3);
    expect(snaps[snaps.length - 1].lost.slabGone).toBeGreaterThan(0);
    for (const snap of snaps) {
      expect(live(snap, 'do_eventfd')).toBeGreaterThanOrEqual(5000);
      expect(live(snap, 'sk_prot_alloc')).toBeGreaterThanOrEqual(2000);
      /* Each open file is a struct file: 5000 eventfds, 10,000 files, 2000 sockets. */
      expect(live(snap, 'alloc_empty_file')).toBeGreaterThanOrEqual(17000);
    }
    /* Not one of them was retired: the sweep's retirements are all elsewhere. */
    for (const fn of ['do_eventfd', 'sk_prot_alloc']) {
      const s = snaps[snaps.length - 1].sites.filter((x) => x.function === fn);
      expect([fn, s.reduce((n, x) => n + x.freesUnseen, 0)]).toEqual([fn, 0]);
    }
    snaps = [];
  });

  it('leaves kmemtop itself out, counted on one line (--include-self tracks it)', () => {
    const out = path.join(dir, 'self.json');
    const r = run('record', '--json', '--top', '0', '-o', out, '--', LOADGEN, 'eventfd-churn', '100');
    expect(r.status).toBe(0);
    const doc = JSON.parse(fs.readFileSync(out, 'utf8'));
    expect(doc.counters.selfAllocs).toBeGreaterThan(0);
    /* Loading the reclaim programs after attach (BTF, program images) is kmemtop's own. */
    const loading = (d: { sites: Site[] }) => d.sites.filter((s) => /^(btf_new_fd|bpf_prog_alloc_no_stats|bpf_prog_alloc)$/.test(s.function));
    expect(loading(doc)).toEqual([]);
    const withSelf = path.join(dir, 'with-self.json');
    expect(run('record', '--include-self', '--json', '--top', '0', '-o', withSelf, '--', 'true').status).toBe(0);
    const d2 = JSON.parse(fs.readFileSync(withSelf, 'utf8'));
    expect(d2.counters.selfAllocs).toBe(0);
    expect(loading(d2).length).toBeGreaterThan(0);
    expect(readSlabinfo()).not.toBeNull();
  });

  it('names caches as the kernel does: accounted kmallocs kmalloc-cg-*, a merged cache by the alias its stack names', async () => {
    expect(run('start', '--stacks').status).toBe(0);
    const out = path.join(dir, 'names.json');
    let text = '';
    const held: Holder[] = [];
    try {
      held.push(await startHolder('pipes-hold', 500), await startHolder('unix-hold', 500));
      expect(run('snapshot', '--json', '--top', '0', '-o', out).status).toBe(0);
      text = run('snapshot', '--top', '0', '--match', '^sk_prot_alloc$').stdout;
    } finally {
      for (const h of held) await releaseHolder(h);
      for (const h of held) await killHolder(h);
      run('stop');
    }
    const doc = JSON.parse(fs.readFileSync(out, 'utf8')) as Snapshot;
    /* alloc_pipe_info: kzalloc/kcalloc with GFP_KERNEL_ACCOUNT, served by kmalloc-cg-192 and kmalloc-cg-1k here. */
    const pipes = doc.sites.filter((s) => s.function === 'alloc_pipe_info' && s.liveObjects >= 500);
    expect(pipes.length).toBeGreaterThanOrEqual(2);
    const slabNames = new Set(readSlabinfo()!.keys());
    for (const p of pipes) {
      expect(p.cache).toMatch(/^kmalloc-cg-\d+k?$/);
      expect(slabNames.has(p.cache)).toBe(true);
    }
    /* The UNIX sockets: sk_prot_alloc's caller unix_create1 names the alias; never signal_cache (or another name of the group) alone. */
    const sock = text.split('\n').filter((l) => /\bsk_prot_alloc\+/.test(l) && /\bUNIX\b/.test(l));
    expect(sock.length).toBeGreaterThan(0);
    for (const l of sock) expect(l).toMatch(/\s+UNIX\s+sk_prot_alloc\+/);
  });

  it('leaves nothing loaded', async () => {
    expect(await kmemtopProgIdsSettled(progsBefore)).toEqual(progsBefore);
    expect(fs.existsSync(PIN_DIR)).toBe(false);
  });
});
