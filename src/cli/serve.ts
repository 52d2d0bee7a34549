/*
 * `kmemtop serve`: a daemon over a pinned session.  It binds first (a busy
 * port is one line and exit 1, before anything is loaded), then adopts the
 * running session or starts one, and serves until SIGTERM or SIGINT.  The
 * session stays pinned when it exits, so a restart adopts it with its
 * counters; `kmemtop stop` ends it.  If the session goes away meanwhile
 * (kmemtop stop), serve exits 1 (a service manager then restarts it with a
 * new one).
 */
import * as http from 'http';
import * as https from 'https';
import * as v8 from 'v8';
import * as vm from 'vm';
import { preflightTracer, Tracer } from '../collect/tracer';
import { Kallsyms } from '../sys/kallsyms';
import { buildSnapshot, Snapshot } from '../model/snapshot';
import { sessionRunning, sessionState } from '../session';
import { KmemtopError } from '../errors';
import { ServeHandler, SnapshotSource } from '../serve/server';
import { authorizer, readWebConfig, WebConfig } from '../serve/webconfig';
import { openTimeline, TimelineWriter } from '../timeline/file';
import { readMeminfo } from '../sys/meminfo';
import { pinSession } from './commands';
import { raw } from '../bpf/libbpf';
import type { ServeArgs } from './args';
import * as log from '../log';

/* Scrapes within this long of a read share it (a scrape every second reads once a second). */
const MIN_READ_INTERVAL_MS = 1000;
/* How often the session's presence is checked. */
const SESSION_CHECK_MS = 2000;
/*
 * A full garbage collection this often.  V8 sizes its old generation from
 * the machine's memory and, on a large machine, lets a daemon that builds a
 * snapshot every second grow by hundreds of MB before collecting; a
 * collection a minute (tens of ms) keeps the resident set at the live heap.
 */
const GC_EVERY_MS = 60_000;

/* V8's gc(), without starting node with --expose-gc. */
function fullGc(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

/* Until the session is read, every request is answered: 503 "starting". */
class LateSource implements SnapshotSource {
  inner: SnapshotSource | null = null;

  snapshot(): Snapshot {
    return this.inner!.snapshot();
  }

  problem(): string | null {
    return this.inner ? this.inner.problem() : 'starting: loading and attaching the BPF programs';
  }
}

/* Pure: does a listen address reach only this machine? */
export function loopback(host: string): boolean {
  return /^127\.\d+\.\d+\.\d+$/.test(host) || host === '::1' || host === 'localhost';
}

function createServer(web: WebConfig | null): http.Server {
  if (!web?.tls) return http.createServer();
  const t = web.tls;
  return https.createServer({ cert: t.cert, key: t.key, ...(t.ca ? { ca: t.ca } : {}), requestCert: t.requireClientCert, rejectUnauthorized: t.requireClientCert, minVersion: t.minVersion });
}

async function listen(server: http.Server, host: string, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException) => {
      const why = e.code === 'EADDRINUSE' ? 'the port is in use' : e.code === 'EACCES' ? 'permission denied' : e.code === 'EADDRNOTAVAIL' ? 'no such local address' : (e.code ?? e.message);
      reject(new KmemtopError(`kmemtop: cannot listen on ${host.includes(':') ? `[${host}]` : host}:${port}: ${why}`));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.removeListener('error', onError);
      resolve();
    });
  });
}

/* Snapshots of the session, read at most once per MIN_READ_INTERVAL_MS. */
class SessionSource implements SnapshotSource {
  private last: { snap: Snapshot; at: number } | null = null;
  gone: string | null = null;

  constructor(
    private readonly tracer: Tracer,
    private readonly syms: Kallsyms,
  ) {}

  snapshot(): Snapshot {
    const now = Date.now();
    if (!this.last || now - this.last.at >= MIN_READ_INTERVAL_MS) {
      const raw = this.tracer.read({ slabinfoMaxAgeMs: 4500, sweepMaxAgeMs: 4500 });
      this.last = { snap: buildSnapshot(raw, this.tracer.window, (ip) => this.syms.resolve(ip)), at: now };
    }
    return this.last.snap;
  }

  problem(): string | null {
    return this.gone;
  }
}

export async function runServe(a: ServeArgs): Promise<number> {
  preflightTracer();
  const web = a.webConfig ? readWebConfig(a.webConfig) : null;
  const timeline = openTimeline(a.timeline);
  try {
    return await serveWith(a, web, timeline);
  } finally {
    timeline?.close();
  }
}

async function serveWith(a: ServeArgs, web: WebConfig | null, own: TimelineWriter | null): Promise<number> {
  /* --timeline, or else the session's own (start --timeline). */
  let timeline = own;
  let sessionTimeline: TimelineWriter | null = null;
  const server = createServer(web);
  server.keepAliveTimeout = 65_000; /* longer than Prometheus's idle connection reuse */
  await listen(server, a.host, a.port);
  if (!loopback(a.host) && !web) {
    process.stderr.write(
      `kmemtop serve: warning: ${a.host}:${a.port} is reachable from other machines, without TLS or a password (--web-config): anyone who reaches it reads kernel call sites, caches and memory figures${a.exposeTasks ? ', process names and cgroup paths' : ''}\n`,
    );
  }
  /* Answer from the first request on: "starting" until the session is read. */
  const late = new LateSource();
  const handler = new ServeHandler(late, { top: a.top, maxSeries: a.maxSeries, topCgroups: a.topCgroups, exposeTasks: a.exposeTasks, authorize: web?.users ? authorizer(web.users) : null });
  server.on('request', handler.handle);
  let tracer: Tracer | null = null;
  let stopSignal: NodeJS.Signals | null = null;
  let wake: () => void = () => {};
  const onSignal = (sig: NodeJS.Signals) => {
    stopSignal = sig;
    wake();
  };
  const handlers = (['SIGINT', 'SIGTERM'] as NodeJS.Signals[]).map((s) => [s, () => onSignal(s)] as const);
  for (const [s, h] of handlers) process.on(s, h);
  try {
    const state = sessionState();
    if (state.kind === 'starting') throw new KmemtopError(`kmemtop: a kmemtop start (pid ${state.meta.pid}) is under way: try again in a moment`);
    const adopted = state.kind === 'running';
    if (!adopted) {
      const { held } = await pinSession(a);
      if (held.length) stopSignal = held[0];
    }
    const meta = sessionRunning();
    if (!meta) throw new KmemtopError('kmemtop: the session went away while starting: try again');
    tracer = Tracer.openSession(meta);
    const source = new SessionSource(tracer, Kallsyms.load());
    late.inner = source;
    if (!timeline && meta.timeline) timeline = sessionTimeline = openTimeline(meta.timeline);
    const sampling = (meta.sampleOneIn ?? 1) > 1 ? `1 object in ${meta.sampleOneIn} tracked` : 'every object tracked';
    process.stderr.write(
      `kmemtop serve: ${web?.tls ? 'https' : 'http'}://${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}/metrics${web?.users ? ' (basic auth)' : ''}; ${adopted ? 'adopted the session' : 'started a session'} of ${meta.startedAt} (${sampling}); ` +
        'it stays pinned when serve exits (kmemtop stop ends it)\n',
    );
    if (adopted && a.sample !== (meta.sampleOneIn ?? 1)) log.debug(`--sample ${a.sample} not applied: the adopted session tracks 1 in ${meta.sampleOneIn ?? 1}`);
    /* Until a signal, or until the session is gone. */
    let code = 0;
    const gc = fullGc();
    let lastGc = Date.now();
    while (!stopSignal) {
      if (Date.now() - lastGc >= GC_EVERY_MS) {
        gc();
        /* The map reads' buffers live outside V8's heap: give what they freed back too. */
        raw.malloc_trim(0);
        lastGc = Date.now();
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, SESSION_CHECK_MS).unref();
      });
      if (stopSignal) break;
      /* --timeline: a frame when one is due (the loop wakes every SESSION_CHECK_MS). */
      if (timeline?.due()) timeline.add(source.snapshot(), { mem: readMeminfo() });
      let now: ReturnType<typeof sessionState>;
      try {
        now = sessionState();
      } catch {
        continue;
      }
      if (now.kind !== 'running' || now.meta.startedAt !== meta.startedAt) {
        source.gone = 'the session was stopped (kmemtop stop)';
        process.stderr.write('kmemtop serve: the session was stopped (kmemtop stop): exiting\n');
        code = 1;
        break;
      }
    }
    if (stopSignal) process.stderr.write(`kmemtop serve: ${stopSignal}: stopping; the session stays pinned\n`);
    return code;
  } finally {
    for (const [s, h] of handlers) process.removeListener(s, h);
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    tracer?.close();
    sessionTimeline?.close();
  }
}
