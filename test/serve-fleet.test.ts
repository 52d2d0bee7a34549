/*
 * kmemtop serve as a fleet runs it, on the real kernel, with Debian's
 * Prometheus, promtool and go tool pprof: over TLS with basic auth (the
 * exporter-toolkit web config), sites churning in and out of --top while
 * Prometheus scrapes every second (no counter ever resets), the allocs
 * profile and its ?seconds= delta read by pprof, a leak in a memory cgroup
 * as a cgroup series, an answer from the first moment the port accepts, and
 * a warning when listening beyond loopback without a web config.  Needs
 * root and BPF.
 */
import { ChildProcess, execFileSync, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { hashSync } from 'bcryptjs';
import { assertBpfUsable, describeBpf, KMEMTOP, kmemtopProgIds, kmemtopProgIdsSettled, LOADGEN } from './helpers/bpf';
import { Holder, killHolder, releaseHolder, startHolder } from './helpers/loadgen';
import { MemCgroup } from './helpers/cgroup';
import { freePort, get, getTls, sleep, startServe } from './helpers/serve';

describeBpf('real kernel: serve for a fleet', () => {
  let dir: string;
  let progsBefore: number[] = [];
  let prometheus: ChildProcess | null = null;
  let serve: Awaited<ReturnType<typeof startServe>> | null = null;
  let ca = '';
  let web = '';

  beforeAll(() => {
    assertBpfUsable();
    progsBefore = kmemtopProgIds();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kmemtop-fleet-'));
    spawnSync(KMEMTOP, ['stop']);
    /* A CA, and a server certificate for 127.0.0.1 signed by it. */
    const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
    ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=kmemtop test CA');
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
    fs.writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
    ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '1', '-extfile', 'san.ext');
    ca = fs.readFileSync(path.join(dir, 'ca.crt'), 'utf8');
    web = path.join(dir, 'web.yml');
    fs.writeFileSync(web, `tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\nbasic_auth_users:\n  prom: '${hashSync('s3cret', 10)}'\n`, { mode: 0o600 });
  });
  /* After each test: nothing of it left running (a failed test must not hand its session to the next). */
  afterEach(async () => {
    prometheus?.kill('SIGKILL');
    prometheus = null;
    if (serve) {
      serve.child.kill('SIGKILL');
      await serve.exited;
      serve = null;
    }
    spawnSync(KMEMTOP, ['stop']);
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('over TLS with basic auth, scraped by Prometheus while sites churn through --top 2 for two minutes: no counter resets, sites keep their series; pprof reads /debug/pprof/allocs and a 5 s delta', async () => {
    const port = await freePort();
    const base = `https://127.0.0.1:${port}`;
    serve = await startServe(['--listen', `127.0.0.1:${port}`, '--web-config', web, '--top', '2', '--sample', '1']);
    expect(serve.err()).toMatch(new RegExp(`kmemtop serve: https://127\\.0\\.0\\.1:${port}/metrics \\(basic auth\\);`));
    expect((await getTls(`${base}/metrics`, ca)).status).toBe(401);
    expect((await getTls(`${base}/metrics`, ca, 'prom:wrong')).status).toBe(401);
    const ok = await getTls(`${base}/metrics`, ca, 'prom:s3cret');
    expect(ok.status).toBe(200);
    const check = spawnSync('promtool', ['check', 'metrics'], { input: ok.body, encoding: 'utf8' });
    expect([check.status, check.stdout + check.stderr]).toEqual([0, '']);

    const promPort = await freePort();
    const config = path.join(dir, 'prometheus.yml');
    fs.writeFileSync(
      config,
      'global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: kmemtop\n    scheme: https\n' +
        `    tls_config:\n      ca_file: ${path.join(dir, 'ca.crt')}\n    basic_auth:\n      username: prom\n      password: s3cret\n` +
        `    static_configs:\n      - targets: ['127.0.0.1:${port}']\n`,
    );
    prometheus = spawn('prometheus', [`--config.file=${config}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${promPort}`, '--log.level=warn'], { stdio: 'ignore' });
    const query = async (q: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> => {
      const r = await get(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(q)}`);
      const j = JSON.parse(r.body.toString());
      if (j.status !== 'success') throw new Error(`${q}: ${r.body}`);
      return j.data.result;
    };
    let up = '';
    for (let i = 0; i < 60 && up !== '1'; i++) {
      await sleep(500);
      up = await query('up{job="kmemtop"}').then((r) => r[0]?.value[1] ?? '', () => '');
    }
    expect(up).toBe('1');

    /* Churn: each workload leads the live bytes while held, then drops out; the machine's own sites move in between. */
    const phases: [string, number][] = [['eventfd-hold', 3000], ['pipes-hold', 400], ['unix-hold', 1500], ['files-hold', 2000], ['eventfd-hold', 6000], ['pipes-hold', 800], ['unix-hold', 3000], ['files-hold', 4000], ['memfd-hold', 500], ['eventfd-hold', 9000], ['pipes-hold', 1200], ['unix-hold', 4500]];
    const t0 = Date.now();
    for (const [mode, n] of phases) {
      const h = await startHolder(mode, n);
      await sleep(7000);
      await releaseHolder(h);
      await killHolder(h);
      execFileSync(LOADGEN, ['spawn', '50']);
      await sleep(3000);
    }
    await sleep(3000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(120_000); /* two minutes of churn, scraped each second */
    /* Every counter series, over the whole run: never a reset. */
    const names = JSON.parse((await get(`http://127.0.0.1:${promPort}/api/v1/label/__name__/values`)).body.toString()).data.filter((n: string) => /^kmemtop_.+_total$/.test(n));
    expect(names).toContain('kmemtop_site_allocations_total');
    const reset: string[] = [];
    for (const n of names) for (const r of await query(`resets(${n}[10m]) > 0`)) reset.push(`${n}${JSON.stringify(r.metric)} ${r.value[1]}`);
    expect(reset).toEqual([]);
    const series = await query('count(kmemtop_site_allocations_total)');
    /* More sites than --top 2 have series: each kept its own after dropping out. */
    expect(Number(series[0].value[1])).toBeGreaterThan(3);
    const ev = await query('kmemtop_site_allocations_total{function="do_eventfd"}');
    expect(ev.length).toBeGreaterThan(0);

    /* go tool pprof over TLS with the CA and basic auth: the cumulative allocations profile. */
    const url = `https://prom:s3cret@127.0.0.1:${port}/debug/pprof/allocs`;
    /* The CA through SSL_CERT_FILE: Debian 12's go tool pprof (Go 1.19) takes -tls_ca but does not use it. */
    const pprofEnv = { ...process.env, HOME: dir, PPROF_TMPDIR: dir, SSL_CERT_FILE: path.join(dir, 'ca.crt') };
    const top = spawnSync('go', ['tool', 'pprof', '-top', url], { encoding: 'utf8', env: pprofEnv, timeout: 60000 });
    expect([top.status, top.stderr]).toEqual([0, expect.stringMatching(/Fetching profile over HTTP/)]);
    expect(top.stdout).toMatch(/^Type: alloc_space$/m);
    /* A 5 s delta over a burst of 5000 eventfds made during it. */
    const delta = spawn('go', ['tool', 'pprof', '-top', '-sample_index=alloc_objects', '-seconds', '5', url], { env: pprofEnv });
    let out = '';
    delta.stdout.on('data', (d) => (out += d));
    const done = new Promise<number | null>((r) => delta.once('exit', r));
    await sleep(1500);
    execFileSync(LOADGEN, ['eventfd-churn', '5000']);
    expect(await done).toBe(0);
    const row = out.split('\n').find((l) => /\sdo_eventfd$/.test(l));
    expect(row).toBeDefined();
    expect(Number(row!.trim().split(/\s+/)[0])).toBeGreaterThanOrEqual(5000);
    expect(out).toMatch(/^Type: alloc_objects$/m);

    prometheus.kill('SIGTERM');
    prometheus = null;
    serve.child.kill('SIGTERM');
    expect(await serve.exited).toBe(0);
    serve = null;
    expect(spawnSync(KMEMTOP, ['stop']).status).toBe(0);
  }, 300_000);

  it('--by-cgroup: a leak in a memory cgroup grows that cgroup series; /snapshot leaves process names and cgroup paths out unless --expose-tasks', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const kmt = path.join(dir, 'serve.kmt');
    serve = await startServe(['--listen', `127.0.0.1:${port}`, '--by-cgroup', '--by-task', '--sample', '1', '--timeline', kmt, '--timeline-interval', '1']);
    const cg = new MemCgroup('kmemtop-test-serve-cg', 1 << 30);
    let holder: Holder | null = null;
    const cgLive = async () => {
      const t = (await get(`${base}/metrics`)).body.toString();
      const m = new RegExp(`^kmemtop_cgroup_live_objects\\{cgroup="/${path.basename(cg.dir)}"\\} (\\d+)$`, 'm').exec(t);
      return m ? Number(m[1]) : 0;
    };
    try {
      const before = await cgLive();
      holder = await startHolder('eventfd-hold', 4000, 30000, (argv) => cg.wrap(argv));
      await sleep(1100);
      expect((await cgLive()) - before).toBeGreaterThanOrEqual(4000);
      const snap = JSON.parse((await get(`${base}/snapshot?top=0`)).body.toString());
      expect(snap.redacted).toMatch(/--expose-tasks/);
      expect(snap.tasks).toBeNull();
      expect(snap.cgroups).toBeNull();
      expect(JSON.stringify(snap)).not.toContain(path.basename(cg.dir));
      expect(JSON.stringify(snap)).not.toContain('"comm":"loadgen"');
      /* --timeline: serve writes frames while it runs (at most one per 2 s: its loop's pace). */
      await sleep(2500);
      const frames = spawnSync(KMEMTOP, ['replay', '--export', 'json', kmt], { encoding: 'utf8' }).stdout.trim().split('\n');
      expect(frames.length).toBeGreaterThanOrEqual(1);
      const last = JSON.parse(frames[frames.length - 1]);
      expect(last.snapshot.sites.filter((s: { function: string }) => s.function === 'do_eventfd').reduce((n: number, s: { liveObjects: number }) => n + s.liveObjects, 0)).toBeGreaterThanOrEqual(4000);
      await releaseHolder(holder);
    } finally {
      await killHolder(holder);
      cg.remove();
      serve.child.kill('SIGTERM');
      await serve.exited;
      serve = null;
      spawnSync(KMEMTOP, ['stop']);
    }
  }, 60_000);

  it('answers from the moment the port accepts (503 starting, then 200), and warns when it listens beyond loopback without a web config', async () => {
    const port = await freePort();
    const child = spawn(KMEMTOP, ['serve', '--listen', `0.0.0.0:${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((r) => child.once('exit', r));
    try {
      /* Connect as soon as the port accepts; the first request gets an answer within a second. */
      for (let i = 0; i < 400; i++) {
        const accepts = await new Promise<boolean>((r) => {
          const s = net.connect(port, '127.0.0.1', () => (s.destroy(), r(true)));
          s.on('error', () => r(false));
        });
        if (accepts) break;
        await sleep(10);
      }
      const t0 = Date.now();
      const first = await get(`http://127.0.0.1:${port}/healthz`);
      expect(Date.now() - t0).toBeLessThan(1000);
      expect([503, 200]).toContain(first.status);
      if (first.status === 503) expect(first.body.toString()).toMatch(/^starting/);
      for (let i = 0; i < 200 && !/kmemtop serve: http/.test(err); i++) await sleep(50);
      expect((await get(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      expect(err).toMatch(new RegExp(`^kmemtop serve: warning: 0\\.0\\.0\\.0:${port} is reachable from other machines, without TLS or a password \\(--web-config\\)`, 'm'));
    } finally {
      child.kill('SIGTERM');
      await exited;
      spawnSync(KMEMTOP, ['stop']);
    }
  }, 60_000);

  it('leaves nothing loaded', async () => {
    expect(await kmemtopProgIdsSettled(progsBefore)).toEqual(progsBefore);
  });
});
