/*
 * kmemtop serve's HTTP endpoints (node http), over a source of snapshots:
 *   /metrics            Prometheus text or OpenMetrics (Accept), prom-client
 *   /debug/pprof/heap   gzipped pprof profile of the live objects
 *   /snapshot           the document `snapshot --json` writes (?top=N, 0: all)
 *   /healthz            "ok", or 503 with the reason
 * GET and HEAD only.  Nothing here starts or stops tracing.
 */
import * as http from 'http';
import * as os from 'os';
import type { Snapshot } from '../model/snapshot';
import { metricFamilies, SelfStats } from '../output/metrics';
import { encodePprof } from '../output/pprof';
import { renderJson, toDocument } from '../output/report';
import { MetricsExporter, negotiate } from './exporter';

export interface SnapshotSource {
  /* A recent snapshot (the source decides how recent: reads are rate limited). */
  snapshot(): Snapshot;
  /* Why the session cannot be read, or null when it can. */
  problem(): string | null;
}

export interface ServeOptions {
  /* Sites exported with their own series. */
  top: number;
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
  private scrapes = 0;

  constructor(
    private readonly source: SnapshotSource,
    private readonly opts: ServeOptions,
  ) {}

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
    if (url.pathname === '/healthz') {
      const p = this.source.problem();
      return p ? this.send(res, 503, text, `${p}\n`, head) : this.send(res, 200, text, 'ok\n', head);
    }
    const known = ['/metrics', '/debug/pprof/heap', '/snapshot'];
    if (!known.includes(url.pathname)) return this.send(res, 404, text, `not found: try ${known.join(', ')}, /healthz\n`, head);
    const problem = this.source.problem();
    if (problem) return this.send(res, 503, text, `${problem}\n`, head);
    const snap = this.source.snapshot();
    if (url.pathname === '/metrics') {
      const format = negotiate(req.headers.accept);
      this.scrapes++;
      const mu = process.memoryUsage();
      const self: SelfStats = { residentBytes: mu.rss, heapUsedBytes: mu.heapUsed, externalBytes: mu.external + mu.arrayBuffers, scrapes: this.scrapes };
      const body = await this.exporter.render(metricFamilies(snap, this.opts.top, self), format);
      return this.send(res, 200, this.exporter.contentType(format), body, head);
    }
    if (url.pathname === '/debug/pprof/heap') {
      return this.send(res, 200, 'application/octet-stream', encodePprof({ sites: snap.sites, window: snap.window }), head);
    }
    const topArg = url.searchParams.get('top');
    const top = topArg === null ? 25 : Number(topArg);
    if (!Number.isSafeInteger(top) || top < 0) return this.send(res, 400, text, 'top takes a whole number (0: every site)\n', head);
    const doc = toDocument(snap, { kind: 'snapshot', kernel: os.release(), hostname: os.hostname() }, { sort: 'liveBytes', top });
    return this.send(res, 200, 'application/json', renderJson(doc), head);
  }
}
