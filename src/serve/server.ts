/*
 * kmemtop serve's HTTP endpoints (node http or https), over a source of snapshots:
 *   /metrics              Prometheus text or OpenMetrics (Accept), prom-client
 *   /debug/pprof/heap     gzipped pprof profile, inuse_space first
 *   /debug/pprof/allocs   the same profile, alloc_space first (Go's /allocs)
 *                         both: ?seconds=N, the delta over the next N seconds
 *   /snapshot             the document `snapshot --json` writes (?top=N, 0: all);
 *                         process names and cgroup paths only with --expose-tasks
 *   /healthz              "ok"; 503 "starting" while loading, or the reason
 * GET and HEAD only; with basic auth users (--web-config), every path asks
 * for them.  Nothing here starts or stops tracing.
 */
import * as http from 'http';
import * as os from 'os';
import type { Snapshot } from '../model/snapshot';
import { metricFamilies, SelfStats, SeriesBook } from '../output/metrics';
import { deltaSites, encodePprof } from '../output/pprof';
import type { Site } from '../model/site';
import { readMeminfo } from '../sys/meminfo';
import { renderJson, toDocument } from '../output/report';
import { MetricsExporter, negotiate } from './exporter';

export interface SnapshotSource {
  /* A recent snapshot (the source decides how recent: reads are rate limited). */
  snapshot(): Snapshot;
  /* Why the session cannot be read, or null when it can. */
  problem(): string | null;
}

export interface ServeOptions {
  /* Sites promoted to series of their own per scrape, and in all (the process's life); cgroups per scrape. */
  top: number;
  maxSeries?: number;
  topCgroups?: number;
  /* /snapshot shows process names and cgroup paths. */
  exposeTasks?: boolean;
  /* Basic auth: whether user and password are right (null: no auth). */
  authorize?: ((user: string, password: string) => boolean) | null;
}

/* Longest ?seconds= delta profile. */
export const MAX_PROFILE_SECONDS = 300;

/* The user and password of an Authorization: Basic header, or null. */
export function basicCredentials(header: string | undefined): { user: string; password: string } | null {
  const m = /^Basic +([A-Za-z0-9+/=]+)$/i.exec(header ?? '');
  if (!m) return null;
  const text = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = text.indexOf(':');
  return colon < 0 ? null : { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

/* A snapshot document without process names and cgroup paths (serve without --expose-tasks). */
function redact(doc: ReturnType<typeof toDocument>): ReturnType<typeof toDocument> & { redacted?: string } {
  const strip = (s: Site): Site => ({ ...s, tasks: undefined, otherTasks: undefined, cgroups: undefined, otherCgroups: undefined });
  return {
    ...doc,
    sites: doc.sites.map(strip),
    tasks: null,
    cgroups: null,
    reclaim: doc.reclaim && { ...doc.reclaim, oomVictims: doc.reclaim.oomVictims.map((v) => ({ ...v, comm: '', memcg: v.memcg ? { ...v.memcg, path: null } : v.memcg, request: v.request && { ...v.request, comm: '' } })) },
    redacted: 'process names and cgroup paths are left out (kmemtop serve --expose-tasks shows them)',
  };
}

/* "HOST:PORT" or "[V6]:PORT" (pure): the address to listen on, or null when it is not one. */
export function parseListen(s: string): { host: string; port: number } | null {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(s);
  if (!m) return null;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return null;
  return { host: m[1] ?? m[2], port };
}

export class ServeHandler {
  private readonly exporter = new MetricsExporter();
  private readonly book: SeriesBook;
  private scrapes = 0;

  constructor(
    private readonly source: SnapshotSource,
    private readonly opts: ServeOptions,
  ) {
    this.book = new SeriesBook(opts.maxSeries);
  }

  /* The handler for http.createServer. */
  readonly handle = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    this.route(req, res).catch((e) => this.send(res, 500, 'text/plain; charset=utf-8', `kmemtop: ${(e as Error).message}\n`));
  };

  private send(res: http.ServerResponse, status: number, type: string, body: string | Buffer, head = false): void {
    if (res.headersSent) return;
    res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
    res.end(head ? undefined : body);
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const head = req.method === 'HEAD';
    if (req.method !== 'GET' && !head) {
      res.setHeader('Allow', 'GET, HEAD');
      return this.send(res, 405, 'text/plain; charset=utf-8', 'only GET and HEAD\n');
    }
    const text = 'text/plain; charset=utf-8';
    if (this.opts.authorize) {
      const c = basicCredentials(req.headers.authorization);
      if (!c || !this.opts.authorize(c.user, c.password)) {
        res.setHeader('WWW-Authenticate', 'Basic realm="kmemtop", charset="UTF-8"');
        return this.send(res, 401, text, 'kmemtop: authentication required\n', head);
      }
    }
    if (url.pathname === '/healthz') {
      const p = this.source.problem();
      return p ? this.send(res, 503, text, `${p}\n`, head) : this.send(res, 200, text, 'ok\n', head);
    }
    const known = ['/metrics', '/debug/pprof/heap', '/debug/pprof/allocs', '/snapshot'];
    if (!known.includes(url.pathname)) return this.send(res, 404, text, `not found: try ${known.join(', ')}, /healthz\n`, head);
    const problem = this.source.problem();
    if (problem) return this.send(res, 503, text, `${problem}\n`, head);
    const snap = this.source.snapshot();
    if (url.pathname === '/metrics') {
      const format = negotiate(req.headers.accept);
      this.scrapes++;
      const mu = process.memoryUsage();
      const mem = readMeminfo();
      const self: SelfStats = {
        residentBytes: mu.rss,
        heapUsedBytes: mu.heapUsed,
        externalBytes: mu.external + mu.arrayBuffers,
        scrapes: this.scrapes,
        memory: mem && { slabReclaimableBytes: mem.slabReclaimableKb * 1024, slabUnreclaimableBytes: mem.slabUnreclaimableKb * 1024 },
      };
      const body = await this.exporter.render(metricFamilies(snap, this.opts.top, self, this.book, this.opts.topCgroups), format);
      return this.send(res, 200, this.exporter.contentType(format), body, head);
    }
    if (url.pathname.startsWith('/debug/pprof/')) {
      const defaultSampleType = url.pathname.endsWith('/allocs') ? 'alloc_space' : 'inuse_space';
      const secondsArg = url.searchParams.get('seconds');
      if (secondsArg === null) return this.send(res, 200, 'application/octet-stream', encodePprof({ sites: snap.sites, window: snap.window }, { defaultSampleType }), head);
      const seconds = Number(secondsArg);
      if (!Number.isSafeInteger(seconds) || seconds < 1 || seconds > MAX_PROFILE_SECONDS) {
        return this.send(res, 400, text, `seconds takes a whole number from 1 to ${MAX_PROFILE_SECONDS}\n`, head);
      }
      /* As Go's handler: the profile now, then again N seconds later; the difference. */
      await new Promise((r) => setTimeout(r, seconds * 1000));
      const later = this.source.snapshot();
      const window = { end: later.window.end, durationMs: Math.max(0, Date.parse(later.window.end) - Date.parse(snap.window.end)) };
      return this.send(res, 200, 'application/octet-stream', encodePprof({ sites: deltaSites(snap.sites, later.sites), window }, { defaultSampleType, delta: true }), head);
    }
    const topArg = url.searchParams.get('top');
    const top = topArg === null ? 25 : Number(topArg);
    if (!Number.isSafeInteger(top) || top < 0) return this.send(res, 400, text, 'top takes a whole number (0: every site)\n', head);
    const doc = toDocument(snap, { kind: 'snapshot', kernel: os.release(), hostname: os.hostname() }, { sort: 'liveBytes', top });
    return this.send(res, 200, 'application/json', renderJson(this.opts.exposeTasks ? doc : redact(doc)), head);
  }
}
