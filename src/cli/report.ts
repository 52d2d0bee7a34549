/*
 * `kmemtop report` and `kmemtop watch --on-oom`: the memory report, now or
 * at the moment of an OOM kill.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { preflightTracer, Tracer, withSession, withTracer } from '../collect/tracer';
import { Kallsyms } from '../sys/kallsyms';
import { buildSnapshot, SCHEMA_VERSION, Snapshot } from '../model/snapshot';
import { readMeminfo } from '../sys/meminfo';
import { readSlabinfo } from '../sys/slabinfo';
import { readBuddyinfo, readVmstat } from '../sys/procmm';
import { fragmentation, kernelMemory, memoryVerdict, MemoryReport, shrinkerDelta, shrinkerSection, sitesSection, SitesSection, topCaches } from '../model/memreport';
import type { OomVictim } from '../model/shrinkers';
import { memReportRenderer, renderReportJson, renderReportText } from '../output/memreport';
import { renderAs } from '../output/formats';
import { sessionRunning } from '../session';
import { checkWritable, writeOutput } from '../output/write';
import { KmemtopError } from '../errors';
import { privileged } from '../sys/preflight';
import { checkNoPlantedLink, writeFileSafely } from '../sys/safefs';
import { FrameRing } from '../timeline/format';
import { openTimeline, TimelineWriter } from '../timeline/file';
import { PRE_HISTORY_MINUTES, preHistory } from '../model/prehistory';
import { printable } from '../output/format';
import { ReportArgs, tracerFlags, WatchArgs } from './args';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/* The report from /proc now, plus a snapshot's sites and shrinkers when there is one. */
export function buildReport(
  snap: Snapshot | null,
  sites: SitesSection | null,
  sitesUnavailable: string | null,
  victim: OomVictim | null = null,
  shrinkersSince: Snapshot | null = null,
): MemoryReport {
  const mem = readMeminfo();
  const slabs = readSlabinfo();
  const buddy = readBuddyinfo();
  const vm = readVmstat();
  return {
    tool: 'kmemtop',
    schemaVersion: SCHEMA_VERSION,
    kind: 'report',
    kernel: os.release(),
    hostname: os.hostname(),
    time: new Date().toISOString(),
    verdict: mem ? memoryVerdict(mem) : null,
    memory: mem ? kernelMemory(mem) : null,
    topCaches: slabs ? topCaches(slabs) : [],
    topCachesUnavailable: slabs ? null : fs.existsSync('/proc/slabinfo') ? '/proc/slabinfo is readable by root only: run kmemtop report with sudo' : 'no /proc/slabinfo',
    sites,
    sitesUnavailable: sites ? null : sitesUnavailable,
    shrinkers: snap?.shrinkers ? shrinkerSection(shrinkerDelta(snap.shrinkers, shrinkersSince?.shrinkers ?? null)) : null,
    oomVictim: victim,
    fragmentation: buddy && vm ? fragmentation(buddy, vm) : null,
    lost: snap ? snap.lost : null,
    accuracy: snap ? snap.accuracy : null,
  };
}

const NEEDS_ROOT = 'tracing call sites needs root (CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN): run kmemtop report with sudo';

export async function runReport(a: ReportArgs): Promise<number> {
  checkWritable(a.output);
  /* Without privilege: what /proc lets anyone read, and which parts need root. */
  if (!privileged()) {
    const report = buildReport(null, null, NEEDS_ROOT);
    writeOutput(renderAs(memReportRenderer, report, a.format), a.output, a.mode);
    process.stderr.write(`kmemtop: report without call sites, slab caches and shrinkers: ${NEEDS_ROOT}\n`);
    return 0;
  }
  const meta = sessionRunning();
  let report: MemoryReport;
  if (meta || a.duration) {
    preflightTracer();
    const syms = Kallsyms.load();
    const resolve = (ip: bigint) => syms.resolve(ip);
    if (meta) {
      /* A session runs: two reads a second apart give the growth. */
      report = await withSession(meta, async (t) => {
        const r1 = t.read();
        await sleep(1000);
        const r2 = t.read();
        const s1 = buildSnapshot(r1, t.window, resolve);
        const s2 = buildSnapshot(r2, t.window, resolve);
        return buildReport(s2, sitesSection(s2, s1, r2.monotonicMs - r1.monotonicMs, 'session'), null);
      });
    } else {
      report = await withTracer(tracerFlags(a), async (t) => {
        await sleep(a.duration! * 1000);
        t.detach();
        const snap = buildSnapshot(t.read(), t.window, resolve);
        return buildReport(snap, sitesSection(snap, null, snap.window.durationMs, 'duration'), null);
      });
    }
  } else {
    report = buildReport(null, null, 'no session runs: kmemtop start, or give --duration SECONDS');
  }
  writeOutput(renderAs(memReportRenderer, report, a.format), a.output, a.mode);
  return 0;
}

/* Sliding-window limit: at most max events per windowMs. Pure apart from the times it is given. */
export class RateLimit {
  private readonly times: number[] = [];

  constructor(
    private readonly max: number,
    private readonly windowMs: number,
  ) {}

  allow(now: number): boolean {
    while (this.times.length && now - this.times[0] >= this.windowMs) this.times.shift();
    if (this.times.length >= this.max) return false;
    this.times.push(now);
    return true;
  }
}

export async function runWatch(a: WatchArgs): Promise<number> {
  if (!a.onOom) throw new KmemtopError('kmemtop: watch needs a trigger: --on-oom', 2);
  preflightTracer();
  checkNoPlantedLink(a.dir);
  try {
    fs.mkdirSync(a.dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new KmemtopError(`kmemtop: cannot create ${a.dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  checkWritable(path.join(a.dir, 'x'));
  const syms = Kallsyms.load();
  const resolve = (ip: bigint) => syms.resolve(ip);
  const timeline = openTimeline(a.timeline);
  let stop = false;
  const onSignal = () => (stop = true);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await withTracer(tracerFlags(a), (t) => watchOom(t, a, resolve, () => stop, timeline));
  } finally {
    timeline?.close();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

/* Poll the OOM-kill counter; at each kill, a report of the moment (rate limited). */
async function watchOom(t: Tracer, a: WatchArgs, resolve: (ip: bigint) => ReturnType<Kallsyms['resolve']>, stopped: () => boolean, timeline: TimelineWriter | null): Promise<number> {
  if (t.oomKills() === null) throw new KmemtopError(`kmemtop: watch --on-oom needs the reclaim tracepoints: ${t.reclaimProblem ?? 'not traced'}`);
  process.stderr.write(`kmemtop: watching for OOM kills; reports go to ${a.dir} (at most ${a.maxReports} per ${a.perSeconds} s)\n`);
  const limit = new RateLimit(a.maxReports, a.perSeconds * 1000);
  let seen = t.oomKills() ?? 0;
  let suppressed = 0;
  /*
   * A baseline every few seconds gives the growth "during the last seconds"
   * at the kill; each also goes to the pre-history (the last 15 minutes, in
   * memory) and to --timeline.
   */
  const ring = new FrameRing(PRE_HISTORY_MINUTES[PRE_HISTORY_MINUTES.length - 1] * 60_000, 12, { kernel: os.release(), hostname: os.hostname() });
  const keep = (snap: Snapshot) => {
    const mem = readMeminfo();
    ring.add(snap, mem);
    timeline?.add(snap, { mem });
  };
  let base = { snap: buildSnapshot(t.read(), t.window, resolve), at: Date.now() };
  keep(base.snap);
  while (!stopped()) {
    await sleep(200);
    const kills = t.oomKills() ?? 0;
    if (kills > seen) {
      const raw = t.read();
      const snap = buildSnapshot(raw, t.window, resolve);
      const victims = snap.reclaim?.oomVictims ?? [];
      for (const victim of victims.slice(-(kills - seen))) {
        if (!limit.allow(Date.now())) {
          suppressed++;
          process.stderr.write(`kmemtop: OOM kill of ${printable(victim.comm)} (pid ${victim.pid}): no report (rate limit; ${suppressed} skipped)\n`);
          continue;
        }
        /* Growth and shrinker work since the last baseline (the last 5-10 s), and over the minutes before. */
        const stem = path.join(a.dir, `oom-${victim.time.replace(/[:.]/g, '-')}-${victim.pid}`);
        ring.add(snap, readMeminfo());
        const replay = ring.replay();
        const killAt = Date.parse(snap.window.end);
        const first = Date.parse(replay.frames[0].t);
        const past = (ms: number) => (first <= killAt - ms + 5000 ? replay.snapshot(replay.indexAt(killAt - ms)) : null);
        writeFileSafely(`${stem}.kmt`, ring.fileBytes(), a.mode);
        const rep = { ...buildReport(snap, sitesSection(snap, base.snap, Date.now() - base.at, 'watch'), null, victim, base.snap), preHistory: preHistory(snap, past, killAt - first, `${stem}.kmt`) };
        writeOutput(renderReportText(rep), `${stem}.txt`, a.mode);
        writeOutput(renderReportJson(rep), `${stem}.json`, a.mode);
        process.stdout.write(`kmemtop: OOM kill of ${printable(victim.comm)} (pid ${victim.pid}): report in ${stem}.txt\n`);
      }
      seen = kills;
    }
    if (Date.now() - base.at >= 5000) {
      base = { snap: buildSnapshot(t.read(), t.window, resolve), at: Date.now() };
      keep(base.snap);
    }
  }
  return 0;
}
