/*
 * record and snapshot: trace, read, report.  The tracer is closed (every
 * program detached) on every path out, including signals.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { preflightTracer, Tracer, withSession, withTracer } from '../collect/tracer';
import { ensureBpffs, makePinDirs, PIN_DIR, removeSession, SessionMeta, sessionRunning, sessionState, writeMeta } from '../session';
import { Kallsyms } from '../sys/kallsyms';
import { buildSnapshot, eventsLostToRecursion, SCHEMA_VERSION, Snapshot } from '../model/snapshot';
import { olderIgnored, olderOnly } from '../model/older';
import { featuresLine, kernelFeatures } from '../model/features';
import { lostLine } from '../output/report';
import type { ReportDocument, SessionInfo } from '../output/report';
import { diffSites, DiffSite, filterSites, focus, GATE_LOSSES, gateVerdict, hasStacks, lossErrorBytes, phantomByGroup, stackSites } from '../model/diff';
import { DiffDocument, diffRenderer, side } from '../output/diff';
import { ReportMeta, reportRenderer, toDocument } from '../output/report';
import { renderAs } from '../output/formats';
import { printable } from '../output/format';
import { KmemtopError } from '../errors';
import { matchRegExp } from './options';
import { CommonArgs, DiffArgs, RecordArgs, SnapshotArgs, TimelineFlags, TimelineSpec, TracerFlags, tracerFlags } from './args';
import { checkWritable, writeOutput } from '../output/write';
import { encodePprof } from '../output/pprof';
import { writeFileSafely } from '../sys/safefs';
import * as log from '../log';
import { checkPrivileges } from '../sys/preflight';
import { openTimeline, TimelineWriter } from '../timeline/file';
import { loadReportOrMoment } from '../timeline/moment';
import { readMeminfo } from '../sys/meminfo';

/* Check, read symbols (a kptr_restrict problem fails before anything is loaded), then trace. */
async function traced<T>(a: CommonArgs & { taskTree?: boolean }, fn: (t: Tracer, syms: Kallsyms) => Promise<T>): Promise<T> {
  preflightTracer();
  checkWritable(a.output);
  checkWritable(a.pprof);
  const syms = Kallsyms.load();
  return withTracer({ ...tracerFlags(a), taskTree: a.taskTree, bpfStats: a.bpfStats }, (tracer) => fn(tracer, syms));
}

function report(tracer: Tracer, syms: Kallsyms, a: CommonArgs, meta: ReportMeta): void {
  /* --older: a session's reads sweep with it (a tracer of ours had it from the start). */
  if (a.older) tracer.setOlderThan(a.older);
  const raw = tracer.read();
  tracer.close();
  const all = buildSnapshot(raw, tracer.window, (ip) => syms.resolve(ip));
  const f = { module: a.module, match: matchRegExp(a.match) };
  const hint = focusHint(all, focus(all, f), a);
  /* Not a failure to start: without object ages on this kernel, --older is said to be ignored and every live object counts. */
  if (a.older && !raw.ages) log.warn(olderIgnored(a.older, all.agesUnavailable));
  const snap = focus(a.older && raw.ages ? olderOnly(all, a.older) : all, f);
  if (hint) process.stderr.write(`kmemtop: ${hint}\n`);
  const doc = toDocument(snap, meta, { sort: a.sort, top: a.top });
  writeOutput(renderAs(reportRenderer, doc, a.format, { weight: a.weight ?? 'liveBytes' }), a.output, a.mode);
  if (a.pprof) writeFileSafely(a.pprof, encodePprof({ sites: snap.sites, window: snap.window }), a.mode);
}

/* Pure: why a --module/--match focus shows nothing, naming what there was; null when it shows something. */
export function focusHint(all: Pick<Snapshot, 'sites'>, focused: Pick<Snapshot, 'sites'>, a: { module?: string; match?: string }): string | null {
  if (focused.sites.length || !all.sites.length || (a.module === undefined && a.match === undefined)) return null;
  const modules = [...new Set(all.sites.map((s) => s.module).filter((m): m is string => m !== null))].sort();
  const what = a.module !== undefined ? `in module ${a.module}` : `whose function matches ${a.match}`;
  const seen = modules.length ? `modules seen: ${modules.slice(0, 10).join(', ')}${modules.length > 10 ? ', ...' : ''}` : 'none of them in a module: this kernel runs no module code that allocated';
  return printable(`no call site ${what} among the ${all.sites.length} traced (${seen})`);
}

function baseMeta(kind: ReportMeta['kind']): ReportMeta {
  return { kind, kernel: os.release(), hostname: os.hostname() };
}

/* Wait until pid is stopped (state T in /proc/PID/stat), or gone. */
async function waitStopped(pid: number): Promise<void> {
  for (let i = 0; i < 500; i++) {
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      return;
    }
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('T')) return;
    await new Promise((r) => setTimeout(r, 2));
  }
}

/* Exit code of `record`: the command's, as a shell would report it. */
export function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  return 128 + (signal ? (os.constants.signals[signal] ?? 0) : 0);
}

export async function runRecord(a: RecordArgs): Promise<number> {
  /* --timeline: opened (or refused) before anything is loaded or run. */
  const timeline = openTimeline(a.timeline);
  try {
    return await recordWith(a, timeline);
  } finally {
    timeline?.close();
  }
}

async function recordWith(a: RecordArgs, timeline: TimelineWriter | null): Promise<number> {
  return traced(a, async (tracer, syms) => {
    /* A frame every --timeline-interval while the command runs, and one when it has ended. */
    /* The maps are read only when a frame is due (the ticker runs four times per interval). */
    const frame = (force: boolean) => {
      if (!timeline || (!force && !timeline.due())) return;
      timeline.add(buildSnapshot(tracer.read({ slabinfoMaxAgeMs: 4500, sweepMaxAgeMs: 4500 }), tracer.window, (ip) => syms.resolve(ip)), { force, mem: readMeminfo() });
    };
    /* A write that fails (a full disk) stops the timeline with one line; the command and its report go on. */
    let failed = false;
    const tick = (force: boolean) => {
      if (failed) return;
      try {
        frame(force);
      } catch (e) {
        failed = true;
        process.stderr.write(`${e instanceof KmemtopError ? e.message : `kmemtop: timeline: ${(e as Error).message}`}: no more timeline frames\n`);
      }
    };
    const ticker = timeline ? setInterval(() => tick(false), Math.max(50, Math.min(1000, timeline.opts.intervalMs / 4))) : null;
    try {
      return await recordCommand(a, tracer, syms, () => tick(true));
    } finally {
      if (ticker) clearInterval(ticker);
    }
  });
}

async function recordCommand(a: RecordArgs, tracer: Tracer, syms: Kallsyms, lastFrame: () => void): Promise<number> {
  {
    const [cmd, ...args] = a.command;
    /*
     * --task-tree: the command stops itself before exec, is added to the
     * task tree, then continued, so its first allocation already counts.
     */
    const child = a.taskTree
      ? spawn('/bin/sh', ['-c', 'kill -STOP $$; exec "$@"', 'kmemtop-task', cmd, ...args], { stdio: 'inherit' })
      : spawn(cmd, args, { stdio: 'inherit' });
    if (a.taskTree && child.pid) {
      await waitStopped(child.pid);
      tracer.addTask(child.pid);
      child.kill('SIGCONT');
    }
    /*
     * The terminal's ^C reaches the child (same process group); kmemtop
     * waits for it to end and still reports.  SIGTERM/SIGHUP sent to kmemtop
     * are passed on.
     */
    const forward = (sig: NodeJS.Signals) => () => {
      if (sig !== 'SIGINT') child.kill(sig);
    };
    const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP'] as NodeJS.Signals[]).map((s) => [s, forward(s)] as const);
    for (const [s, h] of handlers) process.on(s, h);
    let exit: { code: number | null; signal: NodeJS.Signals | null };
    try {
      exit = await new Promise((resolve, reject) => {
        child.once('error', (e: NodeJS.ErrnoException) =>
          reject(new KmemtopError(`kmemtop: cannot run ${cmd}: ${e.code === 'ENOENT' ? 'command not found' : e.message}`, 127)),
        );
        child.once('exit', (code, signal) => resolve({ code, signal }));
      });
    } finally {
      for (const [s, h] of handlers) process.removeListener(s, h);
    }
    log.debug(`command exited: code ${exit.code} signal ${exit.signal}; settling ${a.settleMs} ms`);
    if (a.settleMs > 0) await new Promise((resolve) => setTimeout(resolve, a.settleMs));
    lastFrame();
    tracer.detach();
    /* The command's exit code survives whatever happens to the report: a failed write is one line on stderr. */
    try {
      report(tracer, syms, a, { ...baseMeta('record'), command: a.command, exitCode: exit.code, signal: exit.signal });
    } catch (e) {
      if (!(e instanceof KmemtopError)) throw e;
      process.stderr.write(`${e.message} (the command exited with code ${exitCodeOf(exit.code, exit.signal)}, kept as kmemtop's)\n`);
    }
    return exitCodeOf(exit.code, exit.signal);
  }
}

/*
 * Start a session: settings first (state "starting"), then the pins, then
 * the settings again ("running").  SIGINT, SIGTERM and SIGHUP wait until the
 * pins are made (a whole session is left; stop ends it); SIGKILL leaves part
 * of one, which status reports and stop clears.  A failure clears what was made.
 */
export async function runStart(a: CommonArgs & TimelineFlags): Promise<number> {
  preflightTracer();
  /* --timeline: checked (created, or a timeline to go on with) before anything is pinned. */
  openTimeline(a.timeline)?.close();
  const state = sessionState();
  if (state.kind === 'running') {
    throw new KmemtopError(`kmemtop: a session is already running (since ${state.meta.startedAt}): kmemtop stop ends it`);
  }
  if (state.kind === 'starting') throw new KmemtopError(`kmemtop: another kmemtop start (pid ${state.meta.pid}) is under way`);
  const { started, held } = await pinSession(a);
  if (a.timeline) {
    const meta = sessionRunning();
    if (meta) writeMeta({ ...meta, timeline: { ...a.timeline, file: path.resolve(a.timeline.file) } });
  }
  process.stdout.write(`kmemtop: session started at ${started}; kmemtop snapshot reads it${a.timeline ? ` (and appends a frame to ${a.timeline.file} when one is due)` : ''}, kmemtop stop ends it\n`);
  if (held.length) process.stderr.write(`kmemtop: ${held[0]} arrived while pinning: the session is whole; kmemtop stop ends it\n`);
  return held.length ? 128 + (os.constants.signals[held[0]] ?? 0) : 0;
}

/*
 * Pin a new session (none may be running or starting): settings first, then
 * the pins, with SIGINT, SIGTERM and SIGHUP held until it is whole; returns
 * when it started and the signals held meanwhile.
 */
export async function pinSession(a: TracerFlags): Promise<{ started: string; held: NodeJS.Signals[] }> {
  removeSession(); /* leftovers of a session whose pins or settings were lost */
  ensureBpffs();
  const held: NodeJS.Signals[] = [];
  const hold = (sig: NodeJS.Signals) => () => held.push(sig);
  const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP'] as NodeJS.Signals[]).map((s) => [s, hold(s)] as const);
  for (const [s, h] of handlers) process.on(s, h);
  let started: string;
  try {
    writeMeta(startingMeta(a));
    makePinDirs(PIN_DIR);
    let tracer: Tracer;
    try {
      tracer = Tracer.start({ ...tracerFlags(a), pinDir: PIN_DIR });
    } catch (e) {
      removeSession();
      throw e;
    }
    started = tracer.startedAt.toISOString();
    tracer.close(); /* the pins keep it running */
    /* A signal that arrived meanwhile reaches its handler on the event loop: let it. */
    await new Promise((r) => setTimeout(r, 20));
  } finally {
    for (const [s, h] of handlers) process.removeListener(s, h);
  }
  return { started, held };
}

/*
 * A session's timeline (start --timeline): a frame of this read, when the
 * file's last frame is older than the interval.  A failure is one line; the
 * read goes on.
 */
export function appendSessionFrame(spec: TimelineSpec, tracer: Tracer, syms: Kallsyms): void {
  try {
    const w = TimelineWriter.open(spec.file, spec);
    try {
      if (w.due()) w.add(buildSnapshot(tracer.read({ slabinfoMaxAgeMs: 4500, sweepMaxAgeMs: 4500 }), tracer.window, (ip) => syms.resolve(ip)), { mem: readMeminfo() });
    } finally {
      w.close();
    }
  } catch (e) {
    if (!(e instanceof KmemtopError)) throw e;
    process.stderr.write(`${e.message}: no frame this time\n`);
  }
}

/* The settings a start writes before pinning anything, so an interrupted start is recognised. */
function startingMeta(a: TracerFlags): SessionMeta {
  return {
    version: 1,
    state: 'starting',
    pid: process.pid,
    startedAt: new Date().toISOString(),
    startedMonotonicMs: 0,
    maxLive: a.maxLive,
    maxSites: a.maxSites,
    maxCaches: 0,
    catchNested: a.catchNested,
    sampleOneIn: a.sample,
    preemptCountDelta: 0,
    programs: [],
    reclaimPrograms: [],
    reclaimUnavailable: null,
  };
}

/* Stop: clear whatever a session left (whole, damaged, interrupted, orphaned), and say what. */
export async function runStop(): Promise<number> {
  checkPrivileges();
  const state = sessionState();
  if (state.kind === 'starting') throw new KmemtopError(`kmemtop: a kmemtop start (pid ${state.meta.pid}) is under way: stop it when it is done`);
  const cleared = removeSession();
  if (cleared.links + cleared.pins === 0 && !cleared.settings) {
    process.stderr.write('kmemtop: no session is running\n');
    return 1;
  }
  const what =
    state.kind === 'running'
      ? `session started at ${state.meta.startedAt} stopped`
      : state.kind === 'broken'
        ? 'cleared what a session left behind'
        : 'cleared';
  const left = cleared.leftovers.length ? `; left in place (not kmemtop's): ${cleared.leftovers.join(', ')}` : '';
  process.stdout.write(`kmemtop: ${what}, programs detached (${cleared.links} links, ${cleared.pins} other pins${cleared.settings ? ', settings' : ''} removed)${left}\n`);
  return 0;
}

export async function runStatus(a: { json: boolean }): Promise<number> {
  checkPrivileges();
  const state = sessionState();
  if (state.kind !== 'running') {
    const why =
      state.kind === 'none'
        ? 'no session is running'
        : state.kind === 'starting'
          ? `a session is being started (pid ${state.meta.pid})`
          : state.why;
    if (a.json) process.stdout.write(JSON.stringify({ running: false, state: state.kind, ...(state.kind === 'none' ? {} : { problem: why }) }) + '\n');
    else process.stdout.write(`kmemtop: ${why}\n`);
    return 1;
  }
  const meta = state.meta;
  return withSession(meta, (tracer) => {
    const raw = tracer.read();
    const live = tracer.liveEntries();
    const features = kernelFeatures(raw.kernelFacts, raw.sweep, raw.reclaimUnavailable);
    const lost = { ...raw.lost, recursionMisses: eventsLostToRecursion(raw.recursion) };
    const startedBy = fs.existsSync(`/proc/${meta.pid}`) ? `started by pid ${meta.pid}` : `started by pid ${meta.pid}, since exited`;
    const status = {
      running: true,
      startedAt: meta.startedAt,
      startedByPid: meta.pid,
      maps: {
        sites: raw.maps.sites,
        live: { entries: live, slots: raw.maps.live.slots, overflowEntries: raw.maps.live.overflowEntries, overflowMaxEntries: raw.maps.live.overflowMaxEntries },
        caches: raw.maps.caches,
        kernelBytes: raw.maps.kernelBytes,
      },
      lost,
      sampleOneIn: meta.sampleOneIn ?? 1,
      catchNested: meta.catchNested,
      stackDepth: meta.stackDepth ?? 0,
      byCgroup: meta.byCgroup ?? false,
      byTask: meta.byTask ?? false,
      kernelFeatures: features,
    };
    const splits = [
      status.stackDepth ? `stacks (${status.stackDepth} frames)` : '',
      status.byCgroup ? 'memory cgroups' : '',
      status.byTask ? 'processes' : '',
    ].filter(Boolean);
    if (a.json) {
      process.stdout.write(JSON.stringify(status, null, 2) + '\n');
    } else {
      const pct = (n: number, d: number) => (d ? `${((100 * n) / d).toFixed(1)}%` : '-');
      process.stdout.write(
        [
          `kmemtop: session running since ${meta.startedAt} (${startedBy})`,
          `call sites: ${status.maps.sites.entries} of ${status.maps.sites.maxEntries} (${pct(status.maps.sites.entries, status.maps.sites.maxEntries)})`,
          `live objects tracked: ${live} in ${status.maps.live.slots} slots (${pct(live, status.maps.live.slots)}); overflow ${status.maps.live.overflowEntries} of ${status.maps.live.overflowMaxEntries}`,
          `caches named: ${status.maps.caches.entries} of ${status.maps.caches.maxEntries}`,
          `kernel memory of the maps: ${(raw.maps.kernelBytes / 1048576).toFixed(1)} MiB (bounded by --max-live and --max-sites at start)`,
          `tracking: ${status.sampleOneIn > 1 ? `1 object in ${status.sampleOneIn} (--sample)` : 'every object'}; nested frees ${status.catchNested ? 'caught (--catch-nested)' : 'counted when skipped'}`,
          `per site also: ${splits.length ? splits.join(', ') : 'nothing (--stacks, --by-cgroup, --by-task at start)'}`,
          lostLine(lost) + (lost.liveFull || lost.sitesFull ? ': a larger --max-live or --max-sites at start tracks them' : ''),
          featuresLine(features),
        ].join('\n') + '\n',
      );
    }
    return 0;
  });
}

export async function runSnapshot(a: SnapshotArgs): Promise<number> {
  checkPrivileges();
  const duration = a.duration;
  if (duration === undefined) {
    /* No window of its own: read the running session (everything since kmemtop start). */
    const meta = sessionRunning();
    if (!meta) throw new KmemtopError('kmemtop: no session is running: give --duration SECONDS, or kmemtop start first', 2);
    const unmet = sessionCannotHonour(meta, a);
    if (unmet) throw new KmemtopError(`kmemtop: ${unmet}`, 2);
    checkWritable(a.output);
    const syms = Kallsyms.load();
    await withSession(meta, (tracer) => {
      /* start --timeline: this read is a frame of it, when one is due. */
      if (meta.timeline) appendSessionFrame(meta.timeline, tracer, syms);
      report(tracer, syms, a, { ...baseMeta('snapshot'), session: sessionInfo(meta) });
    });
    return 0;
  }
  /* A window of its own, with its own programs, whether or not a session runs. */
  return traced(a, async (tracer, syms) => {
    /* ^C or SIGTERM ends the window early; the report is still written. */
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        process.removeListener('SIGINT', done);
        process.removeListener('SIGTERM', done);
        resolve();
      };
      const timer = setTimeout(done, duration * 1000);
      process.once('SIGINT', done);
      process.once('SIGTERM', done);
    });
    tracer.detach();
    report(tracer, syms, a, baseMeta('snapshot'));
    return 0;
  });
}

/* The flags a session was started with, as a command line gives them. */
function sessionFlags(m: SessionMeta): string[] {
  return [
    m.stackDepth ? `--stacks=${m.stackDepth}` : '',
    m.byCgroup ? '--by-cgroup' : '',
    m.byTask ? '--by-task' : '',
    m.pages ? '--pages' : '',
    m.catchNested ? '--catch-nested' : '',
  ].filter(Boolean);
}

function sessionInfo(m: SessionMeta): SessionInfo {
  return { startedAt: m.startedAt, startedByPid: m.pid, sampleOneIn: m.sampleOneIn ?? 1, flags: sessionFlags(m) };
}

/*
 * Pure: the first tracing flag of a read that the running session cannot
 * honour (it was started without it, or otherwise), as one line; null when
 * it honours all of them.
 */
export function sessionCannotHonour(m: Pick<SessionMeta, 'sampleOneIn' | 'stackDepth' | 'byCgroup' | 'byTask' | 'pages' | 'catchNested' | 'maxLive' | 'maxSites'>, a: Pick<SnapshotArgs, 'given' | 'sample' | 'stackDepth' | 'byCgroup' | 'byTask' | 'pages' | 'catchNested'>): string | null {
  const fix = 'kmemtop stop, then kmemtop start with it; or snapshot --duration SECONDS traces a window of its own';
  const has: Record<string, boolean> = {
    '--sample': (m.sampleOneIn ?? 1) === a.sample,
    '--stacks': !a.stackDepth || (m.stackDepth ?? 0) >= a.stackDepth,
    '--by-cgroup': !a.byCgroup || !!m.byCgroup,
    '--by-task': !a.byTask || !!m.byTask,
    '--pages': !a.pages || !!m.pages,
    '--catch-nested': !a.catchNested || m.catchNested,
  };
  for (const f of a.given) {
    if (f === '--max-live' || f === '--max-sites' || f === '--include-self') {
      return `${f} sizes or sets up a session when it starts: the running one is read as it was started (${fix})`;
    }
    if (has[f] === false) {
      const was = f === '--sample' ? `1 object in ${m.sampleOneIn ?? 1} tracked` : sessionFlags(m as SessionMeta).join(' ') || 'no tracing flags';
      return `the running session was started with ${was}: it cannot give ${f} (${fix})`;
    }
  }
  return null;
}

/* diff: exit 1 when --fail-on-growth is passed, 0 otherwise. */
export function runDiff(a: DiffArgs): number {
  checkWritable(a.output);
  /* A report, or a moment of a timeline (FILE@TIME). */
  const before = loadReportOrMoment(a.before);
  const after = loadReportOrMoment(a.after);
  const f = { module: a.module, match: matchRegExp(a.match) };
  let sitesBefore: DiffSite[] = filterSites(before.sites, f);
  let sitesAfter: DiffSite[] = filterSites(after.sites, f);
  if (a.byStack) {
    for (const [file, doc] of [[a.before, before], [a.after, after]] as const) {
      if (!hasStacks(doc.sites)) throw new KmemtopError(printable(`kmemtop: ${file} has no stacks: --by-stack needs reports written with --stacks`), 2);
    }
    sitesBefore = stackSites(sitesBefore);
    sitesAfter = stackSites(sitesAfter);
  }
  const { rows, totals } = diffSites(sitesBefore, sitesAfter, phantomByGroup(before.caches), phantomByGroup(after.caches));
  const doc: DiffDocument = {
    tool: 'kmemtop',
    schemaVersion: SCHEMA_VERSION,
    kind: 'diff',
    before: side(a.before, before),
    after: side(a.after, after),
    totals,
    rows: rows.filter((r) => Math.abs(r.liveBytesDelta) >= a.minChange && r.status !== 'same'),
  };
  writeOutput(renderAs(diffRenderer, doc, a.format), a.output, a.mode);
  const grew = totals.growthBytes + (a.includeReclaimable ? totals.reclaimableGrowthBytes : 0);
  if (a.failOnGrowth === undefined) return 0;
  /* Losses between the reports can hide growth or fake it: a gate that cannot tell says so (exit 3). */
  const losses = (d: ReportDocument) => GATE_LOSSES.reduce((n, k) => n + ((d.lost as Record<string, number> | undefined)?.[k] ?? 0), 0);
  const sideOf = (d: ReportDocument, sites: DiffSite[]) => ({ losses: losses(d), sessionStartedAt: d.session?.startedAt ?? null, sites });
  const err = lossErrorBytes(sideOf(before, sitesBefore), sideOf(after, sitesAfter));
  const verdict = gateVerdict(grew, a.failOnGrowth, err.bytes);
  if (verdict === 'inconclusive') {
    process.stderr.write(
      `kmemtop: inconclusive: the reports may be off by up to ${err.bytes} bytes (${err.objects} objects lost, each up to ${Math.ceil(err.objectBytes)} bytes), ` +
        `so growth of ${grew} cannot be told from --fail-on-growth ${a.failOnGrowth}: rerun with a larger --max-live or --max-sites, or --catch-nested\n`,
    );
    return 3;
  }
  if (verdict === 'fail') {
    process.stderr.write(`kmemtop: live bytes grew by ${grew}, more than --fail-on-growth ${a.failOnGrowth}${err.bytes ? ` (even if off by the ${err.bytes} bytes its losses allow)` : ''}\n`);
    return 1;
  }
  return 0;
}
