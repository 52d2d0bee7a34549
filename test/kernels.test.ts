/*
 * The kernel smoke suite: what must hold on every kernel kmemtop supports.
 * It runs here on the host's kernel, and inside Debian's stock 6.1 and 6.12
 * kernels booted by scripts/vmtest (compiled, with KMEMTOP_ROOT and
 * KMEMTOP_BPF_DIR set).  Needs root and BPF; fails (not skips) when
 * KMEMTOP_REQUIRE_BPF=1.  With KMEMTOP_VMTEST_RESULT=FILE it also writes
 * what it found (features, verified instructions, counts, times) there, for
 * docs/kernels.md.
 */
import { execFileSync, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { Tracer, TracerOptions } from '../src/collect/tracer';
import { progStats } from '../src/bpf/proginfo';
import { Kallsyms } from '../src/sys/kallsyms';
import { kernelFacts } from '../src/sys/features';
import { buildSnapshot, Snapshot } from '../src/model/snapshot';
import { KernelFeature } from '../src/model/features';
import { PIN_DIR } from '../src/session';
import { main } from '../src/cli/main';
import { assertBpfUsable, describeBpf, KMEMTOP, kmemtopProgIds, kmemtopProgIdsSettled, LOADGEN } from './helpers/bpf';
import { Holder, killHolder, releaseHolder, startHeldBack, startHolder } from './helpers/loadgen';

/* A tenth of the verifier's limit (1M): the next kernel's verifier should not find the edge first. */
const MAX_VERIFIED_INSNS = 100_000;

/* Every flag combination a user can start with, as tracer options (the CLI maps its flags to these). */
const FLAG_COMBINATIONS: Record<string, TracerOptions> = {
  default: {},
  '--catch-nested': { catchNested: true },
  '--sample 64': { sampleOneIn: 64 },
  '--stacks': { stackDepth: 16 },
  '--by-cgroup': { byCgroup: true },
  '--by-task': { byTask: true },
  '--pages': { pages: true },
  '--task-tree': { taskTree: true },
  '--include-self': { includeSelf: true },
  '--older 1': { olderThan: 1 },
  'all of them': { catchNested: true, stackDepth: 16, byCgroup: true, byTask: true, pages: true, taskTree: true, includeSelf: true, olderThan: 1 },
};

const result: Record<string, unknown> = {};
const timings: Record<string, number> = {};
const run = (...args: string[]) => spawnSync(KMEMTOP, args, { encoding: 'utf8' });

/*
 * The CLI's entry point called in this process, its output captured: the
 * same code as bin/kmemtop without a node start per command, which costs
 * ~25 s each under qemu's emulation (scripts/vmtest).  The spawned command
 * is checked by the other tests here and by the host suite.
 */
async function cli(...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  const out = { stdout: '', stderr: '' };
  const write = { stdout: process.stdout.write, stderr: process.stderr.write };
  process.stdout.write = ((chunk: string | Uint8Array) => ((out.stdout += chunk.toString()), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => ((out.stderr += chunk.toString()), true)) as typeof process.stderr.write;
  try {
    return { status: await main(args), ...out };
  } finally {
    process.stdout.write = write.stdout;
    process.stderr.write = write.stderr;
  }
}

async function timed<T>(name: string, fn: () => Promise<T> | T): Promise<T> {
  const t0 = Date.now();
  try {
    return await fn();
  } finally {
    timings[name] = (Date.now() - t0) / 1000;
  }
}

/* One GET, given up after timeoutMs (a request that reaches serve while it loads is not answered: issue 28). */
function get(url: string, timeoutMs = 5000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

describeBpf('the kernels people run: everything loads, and the core figures are right', () => {
  let syms: Kallsyms;
  let progsBefore: number[] = [];
  let dir: string;
  const snapshotOf = (t: Tracer): Snapshot => buildSnapshot(t.read(), t.window, (ip) => syms.resolve(ip));

  beforeAll(() => {
    assertBpfUsable();
    syms = Kallsyms.load();
    progsBefore = kmemtopProgIds();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kmemtop-kernels-'));
    const facts = kernelFacts();
    result.kernel = facts.release;
    result.facts = facts;
  });

  afterAll(async () => {
    run('stop');
    fs.rmSync(dir, { recursive: true, force: true });
    result.timings = timings;
    if (process.env.KMEMTOP_VMTEST_RESULT) fs.writeFileSync(process.env.KMEMTOP_VMTEST_RESULT, JSON.stringify(result, null, 2) + '\n');
  });

  it(`every flag combination loads and attaches, every program within ${MAX_VERIFIED_INSNS.toLocaleString('en')} verified instructions, features as the kernel allows`, async () => {
    const facts = kernelFacts();
    const insns: Record<string, { program: string; verifiedInsns: number }> = {};
    let features: KernelFeature[] = [];
    await timed('flag combinations', () => {
      for (const [flags, opts] of Object.entries(FLAG_COMBINATIONS)) {
        const t = Tracer.start(opts);
        try {
          const progs = t.loadedPrograms().map((p) => ({ program: p.name, verifiedInsns: progStats(p.fd).verifiedInsns }));
          /* --pages loads the page, percpu and vmalloc programs the kernel has tracepoints for, and no other. */
          const names = progs.map((p) => p.program);
          expect([flags, names.includes('kmemtop__kmalloc'), names.includes('kmemtop__kfree')]).toEqual([flags, true, true]);
          if (opts.pages) expect([flags, names.includes('kmemtop__vmap_alloc')]).toEqual([flags, !!facts.tracepoints.alloc_vmap_area]);
          for (const p of progs) expect([flags, p.program, p.verifiedInsns <= MAX_VERIFIED_INSNS]).toEqual([flags, p.program, true]);
          /* verified_insns is 0 only on kernels before 5.16, which kmemtop does not run on. */
          expect(progs.every((p) => p.verifiedInsns > 0)).toBe(true);
          insns[flags] = progs.reduce((a, b) => (b.verifiedInsns > a.verifiedInsns ? b : a));
          const snap = snapshotOf(t);
          features = snap.kernelFeatures;
          /* The sweep runs where the kernel has its kfunc, and says so. */
          expect([flags, snap.sweep.available]).toEqual([flags, facts.kfuncs.getKmemCache]);
          if (opts.olderThan) expect(snap.agesUnavailable === null).toBe(facts.kfuncs.getKmemCache);
        } finally {
          t.close();
        }
      }
    });
    result.features = features;
    result.verifiedInsns = insns;
    const on = Object.fromEntries(features.map((f) => [f.name, f.on]));
    /* Every kernel of the matrix has preempt_count where kmemtop looks (__preempt_count, or pcpu_hot's on 6.12). */
    expect(facts.preemptCountDelta).not.toBe(0);
    expect(on).toEqual({
      sweep: facts.kfuncs.getKmemCache,
      'object ages': facts.kfuncs.getKmemCache,
      contexts: facts.preemptCountDelta !== 0 && facts.cfsRqHasRq,
      'page sites': true,
      'percpu sites': true,
      'vmalloc sites': !!facts.tracepoints.alloc_vmap_area,
      shrinkers: true,
      'OOM kills': true,
      compaction: true,
    });
    expect(await kmemtopProgIdsSettled(progsBefore)).toEqual(progsBefore);
  });

  it('1000 held eventfds show as +1000 live objects at do_eventfd, exactly', async () => {
    const t = Tracer.start({});
    let holder: Holder | null = null;
    try {
      holder = await startHolder('eventfd-hold', 1000);
      const live = snapshotOf(t)
        .sites.filter((s) => s.function === 'do_eventfd')
        .reduce((n, s) => n + s.liveObjects, 0);
      result.eventfdHeld = { held: 1000, liveAtDoEventfd: live };
      expect(live).toBe(1000);
      await releaseHolder(holder);
    } finally {
      await killHolder(holder);
      t.close();
    }
  });

  it('frees in softirq context (loopback UDP) are attributed to the sites that allocated', () => {
    const t = Tracer.start({ catchNested: true });
    let snap: Snapshot;
    try {
      execFileSync(LOADGEN, ['udp-flood', '20000']);
      t.detach();
      snap = snapshotOf(t);
    } finally {
      t.close();
    }
    const skb = snap.sites.filter((s) => /__alloc_skb|kmalloc_reserve/.test(s.function) && s.allocs >= 1000);
    const softirq = skb.reduce((n, s) => n + s.freesByContext.softirq, 0);
    const frees = skb.reduce((n, s) => n + s.frees, 0);
    result.udpFlood = { datagrams: 20000, skbAllocs: skb.reduce((n, s) => n + s.allocs, 0), skbFrees: frees, skbSoftirqFrees: softirq, contexts: snap.contextSource };
    expect(skb.length).toBeGreaterThan(0);
    if (snap.contextSource === 'unknown') {
      /* No contexts on this kernel: the frees are still attributed, under "unknown". */
      expect(frees).toBeGreaterThan(10000);
    } else {
      expect(softirq).toBeGreaterThan(0.5 * frees);
    }
  });

  it('a session gate: diff --fail-on-growth passes over churn, fails on 5000 held eventfds', async () => {
    expect(fs.existsSync(PIN_DIR)).toBe(false);
    const [a, b, c] = ['a.json', 'b.json', 'c.json'].map((f) => path.join(dir, f));
    let efd: Awaited<ReturnType<typeof startHeldBack>> | null = null;
    await timed('session gate', async () => {
      const start = await cli('start', '--catch-nested');
      try {
        expect([start.status, start.stderr]).toEqual([0, '']);
        expect((await cli('snapshot', '--json', '--top', '0', '-o', a)).status).toBe(0);
        execFileSync(LOADGEN, ['eventfd-churn', '5000']);
        execFileSync(LOADGEN, ['spawn', '100']);
        efd = await startHeldBack('eventfd-hold', 5000);
        expect((await cli('snapshot', '--json', '--top', '0', '-o', b)).status).toBe(0);
        const churn = await cli('diff', a, b, '--fail-on-growth', '1048576');
        result.gateChurn = { status: churn.status, stderr: churn.stderr.trim() };
        expect([churn.status, churn.stderr]).toEqual([0, '']);
        await efd.go();
        expect((await cli('snapshot', '--json', '--top', '0', '-o', c)).status).toBe(0);
        const leak = await cli('diff', b, c, '--fail-on-growth', '1048576');
        result.gateLeak = { status: leak.status, stderr: leak.stderr.trim() };
        expect(leak.status).toBe(1);
        const doEventfd = (JSON.parse(fs.readFileSync(c, 'utf8')).sites as Snapshot['sites']).filter((s) => s.function === 'do_eventfd').reduce((n, s) => n + s.liveObjects, 0);
        expect(doEventfd).toBeGreaterThanOrEqual(5000);
        await releaseHolder(efd.holder);
      } finally {
        if (efd) await killHolder(efd.holder);
        expect((await cli('stop')).status).toBe(0);
      }
    });
    expect(fs.existsSync(PIN_DIR)).toBe(false);
  });

  it('serve answers /metrics, with the kernel features', async () => {
    const port = 19000 + (process.pid % 1000);
    const serve = spawn(KMEMTOP, ['serve', '--listen', `127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    serve.stderr.on('data', (d) => (stderr += d));
    try {
      await timed('serve', async () => {
        let got: { status: number; body: string } | null = null;
        for (let i = 0; i < 600 && !got; i++) {
          got = await get(`http://127.0.0.1:${port}/metrics`).catch(() => null);
          if (!got || got.status !== 200) {
            got = null;
            if (serve.exitCode !== null) throw new Error(`serve exited ${serve.exitCode}: ${stderr}`);
            await new Promise((r) => setTimeout(r, 200));
          }
        }
        expect(got?.status).toBe(200);
        expect(got!.body).toMatch(/^kmemtop_site_allocations_total\{/m);
        expect(got!.body).toMatch(/^kmemtop_kernel_feature\{feature="sweep"/m);
      });
    } finally {
      const exited = new Promise((r) => serve.once('exit', r));
      serve.kill('SIGTERM');
      await exited;
      expect(run('stop').status).toBe(0);
    }
    result.serve = 'answered /metrics';
  });

  /*
   * In scripts/vmtest's guests: the package as npm installed it from the
   * packed tarball on the host (KMEMTOP_PACKAGE_PREFIX, set by
   * scripts/smoke-suite), run on this kernel from outside the checkout.  On
   * the host the whole path (pack, install, a PATH without compilers) is
   * test/package.test.ts.
   */
  const pkg = process.env.KMEMTOP_PACKAGE_PREFIX;
  if (pkg) {
    it('the installed package runs on this kernel: --version, and a record counts 1000 eventfds at do_eventfd', () => {
      const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'kmemtop-pkg-'));
      try {
        const env = { HOME: cwd, PATH: `${pkg}/bin:/usr/bin:/bin`, LANG: 'C.UTF-8' };
        const v = spawnSync('kmemtop', ['--version'], { cwd, encoding: 'utf8', env });
        expect([v.status, v.stdout]).toEqual([0, expect.stringMatching(/^kmemtop \d+\.\d+\.\d+/)]);
        const out = path.join(cwd, 'r.json');
        const r = spawnSync('kmemtop', ['record', '--json', '--top', '0', '-o', out, '--', LOADGEN, 'eventfd-churn', '1000'], { cwd, encoding: 'utf8', env });
        expect([r.status, r.stderr]).toEqual([0, '']);
        const doc = JSON.parse(fs.readFileSync(out, 'utf8'));
        expect(doc.sites.filter((s: { function: string }) => s.function === 'do_eventfd').reduce((n: number, s: { allocs: number }) => n + s.allocs, 0)).toBe(1000);
        result.package = `installed from the packed tarball: ${v.stdout.trim()}`;
      } finally {
        fs.rmSync(cwd, { recursive: true, force: true });
      }
    });
  }

  it('kmemtop record -- true starts and reports', () => {
    const t0 = Date.now();
    const r = run('record', '--', 'true');
    result.recordTrueSeconds = (Date.now() - t0) / 1000;
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^kernel features: sweep: (on|off \(needs Linux 6\.13: bpf_get_kmem_cache\));/m);
  });
});
