/*
 * --stacks on the real kernel: stacks past the call site, counted per
 * (site, stack) in the kernel, lost stacks counted without touching the
 * site figures, folded output that adds up.  Needs root and BPF.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Kallsyms } from '../src/sys/kallsyms';
import { Site, Snapshot } from '../src/model/snapshot';
import { toDocument } from '../src/output/report';
import { renderFolded } from '../src/output/folded';
import { encodePprof } from '../src/output/pprof';
import { Profile } from 'pprof-format';
import { gunzipSync } from 'zlib';
import { Tracer, TracerOptions } from '../src/collect/tracer';
import { buildSnapshot } from '../src/model/snapshot';
import { MemCgroup } from './helpers/cgroup';
import { Holder, releaseHolder, startHolder } from './helpers/loadgen';
import { traced as tracedWith } from './helpers/trace';
import { assertBpfUsable, describeBpf, KMEMTOP, kmemtopProgIds, kmemtopProgIdsSettled, LOADGEN } from './helpers/bpf';

const sitesOf = (snap: Snapshot, fn: string) => snap.sites.filter((s) => s.function === fn);
const frameFns = (s: Site) => (s.stacks ?? []).flatMap((st) => st.frames.map((f) => f.replace(/\+0x[0-9a-f]+.*$/, '')));

describeBpf('real kernel: --stacks', () => {
  let syms: Kallsyms;
  let progsBefore: number[] = [];
  let dir: string;
  beforeAll(() => {
    assertBpfUsable();
    syms = Kallsyms.load();
    progsBefore = kmemtopProgIds();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kmemtop-stacks-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const traced = (work: () => void, opts: TracerOptions = {}) => tracedWith(syms, work, { reclaim: false, ...opts });

  it('eventfd churn: the do_eventfd stacks start at the call site and reach the syscall; every tracked allocation has its stack', () => {
    const snap = traced(() => execFileSync(LOADGEN, ['eventfd-churn', '2000']), { stackDepth: 24 });
    /* The whole machine is traced: a stack of another site can be lost (a stack-map bucket taken), and is counted. */
    const lostStacks = snap.lost.stacksLost;
    const [ev] = sitesOf(snap, 'do_eventfd');
    expect(ev.stacks!.length).toBeGreaterThan(0);
    for (const st of ev.stacks!) expect(st.frames[0]).toMatch(/^do_eventfd\+0x/);
    expect(frameFns(ev)).toEqual(expect.arrayContaining([expect.stringMatching(/^__x64_sys_eventfd2?$/)]));
    const stackAllocs = ev.stacks!.reduce((n, s) => n + s.allocs, 0) + (ev.otherStacks?.allocs ?? 0);
    expect(stackAllocs).toBeLessThanOrEqual(ev.allocs - ev.untrackedAllocs);
    expect(stackAllocs).toBeGreaterThanOrEqual(ev.allocs - ev.untrackedAllocs - lostStacks);
    expect(stackAllocs).toBeGreaterThanOrEqual(2000 - lostStacks);
    const stackLive = ev.stacks!.reduce((n, s) => n + s.liveObjects, 0) + (ev.otherStacks?.liveObjects ?? 0);
    expect(stackLive).toBeLessThanOrEqual(ev.liveObjects);
    expect(stackLive).toBeGreaterThanOrEqual(ev.liveObjects - lostStacks);
  });

  it('UDP sends: an __alloc_skb stack runs through the UDP send path', () => {
    const snap = traced(() => execFileSync(LOADGEN, ['udp-stream', '20000']), { stackDepth: 32 });
    const skb = sitesOf(snap, '__alloc_skb');
    expect(skb.length).toBeGreaterThan(0);
    expect(skb.flatMap(frameFns)).toEqual(expect.arrayContaining([expect.stringMatching(/^udp(v6)?_sendmsg$/)]));
  });

  it('a stack map too small: lost stacks are counted, and the site figures match a run without --stacks', () => {
    const small = traced(() => execFileSync(LOADGEN, ['eventfd-churn', '3000']), { stackDepth: 24, maxStacks: 2 });
    const none = traced(() => execFileSync(LOADGEN, ['eventfd-churn', '3000']));
    expect(small.lost.stacksLost).toBeGreaterThan(0);
    expect(none.lost.stacksLost).toBe(0);
    const fig = (snap: Snapshot) => sitesOf(snap, 'do_eventfd').map((s) => [s.allocs, s.frees, s.liveObjects]);
    expect(fig(small)).toEqual(fig(none));
    expect(sitesOf(none, 'do_eventfd')[0].stacks).toBeUndefined();
  });

  it('folded: every line parses, the weights add up to the report, and the CLI writes it', () => {
    const snap = traced(() => execFileSync(LOADGEN, ['eventfd-churn', '1000']), { stackDepth: 16 });
    const doc = toDocument(snap, { kind: 'snapshot', kernel: os.release(), hostname: os.hostname() }, { sort: 'liveBytes', top: 0 });
    for (const weight of ['liveBytes', 'allocs'] as const) {
      const lines = renderFolded(doc, { weight }).trimEnd().split('\n');
      let sum = 0;
      for (const l of lines) {
        const m = /^(.+) (\d+)$/.exec(l);
        expect(m).not.toBeNull();
        sum += Number(m![2]);
      }
      const want = doc.sites.reduce((n, s) => n + Math.max(0, weight === 'liveBytes' ? s.liveBytes : s.allocs), 0);
      expect([weight, sum]).toEqual([weight, want]);
      expect(lines.some((l) => l.includes(';'))).toBe(true);
    }
    const out = path.join(dir, 'folded.txt');
    const r = spawnSync(KMEMTOP, ['record', '--stacks', '8', '--format', 'folded', '--weight', 'allocs', '--top', '0', '-o', out, '--', LOADGEN, 'eventfd-churn', '100'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(fs.readFileSync(out, 'utf8')).toMatch(/do_eventfd\+0x[0-9a-f]+ \d+$/m);
    const bad = spawnSync(KMEMTOP, ['record', '--stacks', '500', '--', 'true'], { encoding: 'utf8' });
    expect([bad.status, bad.stderr]).toEqual([2, 'kmemtop: --stacks takes a depth: a whole number of frames from 1 to 127 (or nothing: the default)\n']);
  });

  it('--pprof: a gzipped heap profile with the four sample types whose inuse totals are the report\'s; go tool pprof reads it', () => {
    const snap = traced(() => execFileSync(LOADGEN, ['eventfd-churn', '1000']), { stackDepth: 16 });
    const profile = Profile.decode(gunzipSync(encodePprof({ sites: snap.sites, window: snap.window })));
    const str = (i: number | bigint) => profile.stringTable.strings[Number(i)];
    expect(profile.sampleType.map((t) => `${str(t.type)}/${str(t.unit)}`)).toEqual(['alloc_objects/count', 'alloc_space/bytes', 'inuse_objects/count', 'inuse_space/bytes']);
    const total = (i: number) => profile.sample.reduce((n, x) => n + Number(x.value[i]), 0);
    expect(total(2)).toBe(snap.sites.reduce((n, s) => n + Math.max(0, s.liveObjects), 0));
    expect(total(3)).toBe(snap.sites.reduce((n, s) => n + Math.max(0, s.liveBytes), 0));
    expect(total(0)).toBe(snap.sites.reduce((n, s) => n + s.allocs, 0));
    /* Through the CLI, read by Go's own pprof. */
    const out = path.join(dir, 'heap.pb.gz');
    const r = spawnSync(KMEMTOP, ['record', '--stacks', '--pprof', out, '--', LOADGEN, 'eventfd-churn', '200'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(fs.statSync(out).mode & 0o777).toBe(0o600);
    const top = spawnSync('go', ['tool', 'pprof', '-top', '-sample_index=alloc_objects', out], { encoding: 'utf8' });
    expect([top.status, top.stdout]).toEqual([0, expect.stringMatching(/Type: alloc_objects[\s\S]*do_eventfd/)]);
  });

  it('--by-cgroup, --by-task: 2000 memfds held in a memory cgroup show under its path; the same outside it do not', async () => {
    const cg = new MemCgroup('kmemtop-bycg', 1 << 30);
    const holders: Holder[] = [];
    const t = Tracer.start({ byCgroup: true, byTask: true, reclaim: false });
    let snap: Snapshot;
    try {
      holders.push(await startHolder('memfd-hold', 2000, 30000, (argv) => cg.wrap(argv)));
      holders.push(await startHolder('memfd-hold', 2000));
      t.detach();
      snap = buildSnapshot(t.read(), t.window, (ip) => syms.resolve(ip));
    } finally {
      t.close();
      for (const h of holders) await releaseHolder(h);
      cg.remove();
    }
    const cgPath = '/' + path.basename(cg.dir);
    const [shm] = sitesOf(snap, 'shmem_alloc_inode');
    expect(shm.liveObjects).toBeGreaterThanOrEqual(4000);
    /* Exactly the 2000 of the process inside; the 2000 outside are under another path. */
    expect(shm.cgroups!.find((c) => c.path === cgPath)).toMatchObject({ allocs: 2000, liveObjects: 2000, liveBytes: 2000 * shm.objectSize });
    const elsewhere = shm.cgroups!.filter((c) => c.path !== cgPath).reduce((n, c) => n + c.liveObjects, 0) + (shm.otherCgroups?.liveObjects ?? 0);
    expect(elsewhere).toBeGreaterThanOrEqual(2000);
    const split = shm.cgroups!.reduce((n, c) => n + c.liveObjects, 0) + (shm.otherCgroups?.liveObjects ?? 0);
    expect(snap.lost.detailsLost).toBe(0);
    expect(split).toBe(shm.liveObjects);
    /* Per process: each holder's 2000, under its own pid. */
    for (const h of holders) expect(shm.tasks!.find((x) => x.tgid === h.pid)).toMatchObject({ comm: 'loadgen', liveObjects: 2000 });
    /* The totals per cgroup name the cgroup, with at least those objects, and the hierarchy it lives in. */
    expect(snap.cgroups!.find((c) => c.path === cgPath)!.liveObjects).toBeGreaterThanOrEqual(2000);
    expect(snap.memcgHierarchy).toMatch(/^cgroup v[12] \/sys\/fs\/cgroup/);
    expect(snap.tasks!.find((x) => x.tgid === holders[0].pid)!.topSite).toMatch(/^shmem_alloc_inode /);
  });

  it('--by-task names a process as it is after exec, not by the name it allocated under before', () => {
    const out = path.join(dir, 'by-task.json');
    /* sh allocates (fork, exec) under its own name before it becomes loadgen, in the same process. */
    const r = spawnSync(KMEMTOP, ['record', '--by-task', '--json', '--top', '0', '-o', out, '--', 'sh', '-c', `exec ${LOADGEN} eventfd-churn 300`], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    const doc = JSON.parse(fs.readFileSync(out, 'utf8'));
    const loadgen = (doc.tasks as { tgid: number; comm: string; sites: number }[]).filter((t) => t.comm === 'loadgen');
    expect(loadgen).toHaveLength(1);
    expect(loadgen[0].sites).toBeGreaterThan(1);
    /* Every row of that process bears its name after exec. */
    const rows = (doc.sites as { tasks?: { tgid: number; comm: string }[] }[]).flatMap((s) => s.tasks ?? []).filter((t) => t.tgid === loadgen[0].tgid);
    expect(new Set(rows.map((t) => t.comm))).toEqual(new Set(['loadgen']));
  });

  it('a detail index too small: unattributed allocations are counted, and the site figures stay exact', () => {
    const small = traced(() => execFileSync(LOADGEN, ['eventfd-churn', '3000']), { byTask: true, maxDetails: 2 });
    expect(small.lost.detailsLost).toBeGreaterThan(0);
    const [ev] = sitesOf(small, 'do_eventfd');
    expect(ev.allocs).toBeGreaterThanOrEqual(3000);
    const attributed = ev.tasks!.reduce((n, x) => n + x.allocs, 0) + (ev.otherTasks?.allocs ?? 0);
    expect(attributed).toBeLessThan(ev.allocs);
  });

  it('a session with --stacks: diff --by-stack reports the growth by stack; a report without stacks is refused in one line', async () => {
    const run = (...args: string[]) => spawnSync(KMEMTOP, args, { encoding: 'utf8' });
    const before = path.join(dir, 'before.json');
    const after = path.join(dir, 'after.json');
    expect(run('start', '--stacks', '16').status).toBe(0);
    let holder: Holder | null = null;
    try {
      expect(run('snapshot', '--json', '--top', '0', '-o', before).status).toBe(0);
      holder = await startHolder('eventfd-hold', 1000);
      expect(run('snapshot', '--json', '--top', '0', '-o', after).status).toBe(0);
    } finally {
      if (holder) await releaseHolder(holder);
      run('stop');
    }
    const r = run('diff', '--by-stack', '--json', before, after);
    expect(r.status).toBe(0);
    const rows = JSON.parse(r.stdout).rows as { function: string; stack: string[]; liveObjectsDelta: number }[];
    const grew = rows.filter((x) => x.function === 'do_eventfd' && x.stack.some((f) => /^__x64_sys_eventfd2?$/.test(f)));
    expect(grew.reduce((n, x) => n + x.liveObjectsDelta, 0)).toBeGreaterThanOrEqual(1000);
    const text = run('diff', '--by-stack', before, after);
    expect(text.stdout).toMatch(/do_eventfd <- .*__x64_sys_eventfd2?/);
    const plain = path.join(dir, 'plain.json');
    expect(run('record', '--json', '-o', plain, '--', 'true').status).toBe(0);
    const bad = run('diff', '--by-stack', plain, after);
    expect([bad.status, bad.stderr]).toEqual([2, `kmemtop: ${plain} has no stacks: --by-stack needs reports written with --stacks\n`]);
  });

  it('leaves nothing loaded', async () => {
    expect(await kmemtopProgIdsSettled(progsBefore)).toEqual(progsBefore);
  });
});
