/*
 * kmemtop serve on the real kernel, scraped by a real Prometheus server
 * (Debian's prometheus, started here with its own config and data
 * directory on 127.0.0.1) and read by pprof-format: /metrics in both
 * formats, the PromQL answer for 2000 held eventfds, /debug/pprof/heap,
 * /snapshot, /healthz; a restart adopts the session with its counters; a
 * busy port is one line; kmemtop stop ends serve.  Needs root and BPF.
 */
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { gunzipSync } from 'zlib';
import { Profile } from 'pprof-format';
import { assertBpfUsable, describeBpf, KMEMTOP, kmemtopProgIds, kmemtopProgIdsSettled } from './helpers/bpf';
import { Holder, releaseHolder, startHolder } from './helpers/loadgen';
import { freePort, get, sleep, startServe } from './helpers/serve';

describeBpf('real kernel: kmemtop serve', () => {
  let dir: string;
  let progsBefore: number[] = [];
  let prometheus: ChildProcess | null = null;
  let serve: Awaited<ReturnType<typeof startServe>> | null = null;
  let holder: Holder | null = null;

  beforeAll(() => {
    assertBpfUsable();
    progsBefore = kmemtopProgIds();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kmemtop-serve-'));
    spawnSync(KMEMTOP, ['stop']);
  });
  afterAll(async () => {
    if (holder) await releaseHolder(holder);
    prometheus?.kill('SIGKILL');
    serve?.child.kill('SIGKILL');
    spawnSync(KMEMTOP, ['stop']);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('Prometheus scrapes it: the PromQL sum of do_eventfd live objects reaches 2000; promtool accepts /metrics; pprof and /snapshot read', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    serve = await startServe(['--listen', `127.0.0.1:${port}`, '--sample', '1']);
    expect(serve.err()).toMatch(/started a session .*every object tracked/);

    /* Prometheus text, checked by promtool; OpenMetrics on request. */
    const prom = await get(`${base}/metrics`);
    expect([prom.status, prom.type]).toEqual([200, 'text/plain; version=0.0.4; charset=utf-8']);
    const check = spawnSync('promtool', ['check', 'metrics'], { input: prom.body, encoding: 'utf8' });
    expect([check.status, check.stdout + check.stderr]).toEqual([0, '']);
    const om = await get(`${base}/metrics`, 'application/openmetrics-text; version=1.0.0');
    expect(om.type).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
    const omText = om.body.toString();
    expect(omText).toMatch(/^# TYPE kmemtop_site_allocations counter$/m);
    expect(omText).toMatch(/^kmemtop_site_allocations_total\{function="[^"]+",cache="[^"]+",module="[^"]*"\} \d+$/m);
    expect(omText.endsWith('# EOF\n')).toBe(true);

    /* A real Prometheus scraping each second. */
    const promPort = await freePort();
    const config = path.join(dir, 'prometheus.yml');
    fs.writeFileSync(config, `global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: kmemtop\n    static_configs:\n      - targets: ['127.0.0.1:${port}']\n`);
    prometheus = spawn(
      'prometheus',
      [`--config.file=${config}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${promPort}`, '--log.level=warn'],
      { stdio: 'ignore' },
    );
    holder = await startHolder('eventfd-hold', 2000);
    const query = 'sum(kmemtop_site_live_objects{function="do_eventfd"})';
    let value = -1;
    for (let i = 0; i < 120 && value < 2000; i++) {
      await sleep(500);
      try {
        const r = await get(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(query)}`);
        const j = JSON.parse(r.body.toString());
        if (j.status === 'success' && j.data.result.length) value = Number(j.data.result[0].value[1]);
      } catch {
        /* Prometheus still starting */
      }
    }
    expect(value).toBeGreaterThanOrEqual(2000);
    const up = await get(`http://127.0.0.1:${promPort}/api/v1/query?query=up`);
    expect(JSON.parse(up.body.toString()).data.result[0].value[1]).toBe('1');

    /* The heap profile: inuse_space, and the do_eventfd site with its 2000 objects. */
    const heap = await get(`${base}/debug/pprof/heap`);
    const profile = Profile.decode(gunzipSync(heap.body));
    const str = (i: number | bigint) => profile.stringTable.strings[Number(i)];
    expect(profile.sampleType.map((t) => str(t.type))).toEqual(['alloc_objects', 'alloc_space', 'inuse_objects', 'inuse_space']);
    const fnOf = new Map(profile.function.map((f) => [Number(f.id), str(f.name)]));
    const locFn = new Map(profile.location.map((l) => [Number(l.id), fnOf.get(Number(l.line[0].functionId))]));
    const evInuse = profile.sample.filter((s) => locFn.get(Number(s.locationId[0])) === 'do_eventfd').reduce((n, s) => n + Number(s.value[2]), 0);
    expect(evInuse).toBeGreaterThanOrEqual(2000);

    /* /snapshot is the snapshot document; /healthz says ok; unknown paths and methods are refused. */
    const snap = JSON.parse((await get(`${base}/snapshot?top=0`)).body.toString());
    expect(snap).toMatchObject({ tool: 'kmemtop', kind: 'snapshot' });
    expect(snap.sites.find((s: { function: string }) => s.function === 'do_eventfd').liveObjects).toBeGreaterThanOrEqual(2000);
    expect((await get(`${base}/healthz`)).body.toString()).toBe('ok\n');
    expect((await get(`${base}/nope`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(405);
    expect((await get(`${base}/snapshot?top=x`)).status).toBe(400);
  }, 120_000);

  it('SIGTERM stops it cleanly and leaves the session; a restart adopts it with its counters; a busy port is one line; kmemtop stop ends serve', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const allocs = async () => {
      const t = (await get(`${base}/metrics`)).body.toString();
      return [...t.matchAll(/^kmemtop_site_allocations_total\{function="do_eventfd",[^}]*\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
    };
    /* The session of the first test is still pinned: adopted. */
    serve!.child.kill('SIGTERM');
    expect(await serve!.exited).toBe(0);
    expect(serve!.err()).toMatch(/SIGTERM: stopping; the session stays pinned/);
    expect(spawnSync(KMEMTOP, ['status']).status).toBe(0);
    serve = await startServe(['--listen', `127.0.0.1:${port}`]);
    expect(serve.err()).toMatch(/adopted the session/);
    expect(await allocs()).toBeGreaterThanOrEqual(2000);
    const busy = spawnSync(KMEMTOP, ['serve', '--listen', `127.0.0.1:${port}`], { encoding: 'utf8' });
    expect([busy.status, busy.stderr]).toEqual([1, `kmemtop: cannot listen on 127.0.0.1:${port}: the port is in use\n`]);
    const bad = spawnSync(KMEMTOP, ['serve', '--listen', 'localhost'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(spawnSync(KMEMTOP, ['stop']).status).toBe(0);
    expect(await serve.exited).toBe(1);
    expect(serve.err()).toMatch(/the session was stopped \(kmemtop stop\): exiting/);
    serve = null;
  }, 60_000);

  it('leaves nothing loaded', async () => {
    expect(await kmemtopProgIdsSettled(progsBefore)).toEqual(progsBefore);
  });
});
