/*
 * The command line: one options table (units in the names), a pure check()
 * whose messages name the flags, and argv injectable for tests.
 */
import { parseMode } from '../sys/safefs';
import { Format, FORMATS, Weight, WEIGHTS } from '../output/formats';
import yargs, { Argv } from 'yargs';
import { SORT_KEYS } from '../model/snapshot';
import { DEFAULTS } from '../config';
import type { CommonArgs, DiffArgs, RecordArgs, ReportArgs, ServeArgs, SnapshotArgs, TopArgs, ReplayArgs, TimelineFlags, TracerFlags, WatchArgs } from './args';
import { parseListen } from '../serve/server';
import { DEFAULT_MAX_SERIES, DEFAULT_TOP_CGROUPS, DEFAULT_TOP_SITES } from '../output/metrics';
import { DEFAULT_TIMELINE_INTERVAL_S } from '../timeline/format';

/* serve: where, and 1 object in how many it tracks unless told (measured near the dispatch floor: docs/overhead.md). */
export const DEFAULT_LISTEN = '127.0.0.1:9713';
export const SERVE_SAMPLE = 64;

export type Parsed =
  | { cmd: 'report'; args: ReportArgs }
  | { cmd: 'watch'; args: WatchArgs }
  | { cmd: 'serve'; args: ServeArgs }
  | { cmd: 'replay'; args: ReplayArgs }
  | { cmd: 'version'; args: { json: boolean; verbose: boolean } }
  | { cmd: 'start'; args: CommonArgs & TimelineFlags }
  | { cmd: 'stop'; args: { verbose: boolean } }
  | { cmd: 'status'; args: { json: boolean; format: Format; verbose: boolean } }
  | { cmd: 'diff'; args: DiffArgs }
  | { cmd: 'top'; args: TopArgs }
  | { cmd: 'record'; args: RecordArgs }
  | { cmd: 'snapshot'; args: SnapshotArgs }
  | { cmd: 'help'; text: string };

export const EXAMPLES: [string, string][] = [
  ['kmemtop', 'the live view: call sites, slab caches, shrinkers (? for keys)'],
  ['kmemtop top -b -n 3 -d 2 --filter skb', 'three plain-text frames, 2 s apart, of the sites matching "skb"'],
  ['kmemtop record -- ./run-tests.sh', 'trace while a command runs, then report per call site'],
  ['kmemtop record --json -o run.json --top 0 -- make -C tools/testing/selftests/net run_tests', 'every site, as JSON'],
  ['kmemtop record --settle-ms 2000 -- ./udp-test', 'keep tracing 2 s after the command, for RCU-deferred frees'],
  ['kmemtop snapshot --duration 10 --sort allocs', 'trace the whole machine for 10 s'],
  ['kmemtop start; kmemtop snapshot --json --top 0 -o before.json', 'a session for before-and-after: snapshot reads it'],
  ['kmemtop diff before.json after.json --fail-on-growth 1048576', 'what grew between two reports; exit 1 past 1 MiB (CI)'],
  ['kmemtop report --duration 5', 'what dominates memory, the largest caches, sites, shrinkers, fragmentation'],
  ['kmemtop watch --on-oom -o /var/log/kmemtop', 'a report at each OOM kill, rate limited'],
  ['kmemtop serve --listen 127.0.0.1:9713', 'always on: /metrics for Prometheus, /debug/pprof/heap for pprof (docs/serve.md)'],
];

function tracerOptions(y: Argv): Argv {
  return y
    .option('max-live', { type: 'number', default: DEFAULTS.maxLive, describe: 'live objects the live table is sized for (preallocated)' })
    .option('max-sites', { type: 'number', default: DEFAULTS.maxSites, describe: 'call-site index capacity (entries)' })
    .option('catch-nested', {
      type: 'boolean',
      default: false,
      describe: 'a second program per free tracepoint catches the rare frees the kernel skips as nested (exact; costs one more program run per free)',
    })
    .option('sample', {
      type: 'number',
      default: 1,
      describe: 'track 1 object in N (by address hash): live and per-site free figures become estimates; allocation counts and the number of free events stay exact',
    })
    .option('stacks', {
      type: 'string',
      describe: `record each allocation's kernel stack, DEPTH frames (default ${DEFAULTS.stackDepth}; at most 127): per-site stacks in JSON, --format folded`,
    })
    .option('by-cgroup', {
      type: 'boolean',
      default: false,
      describe: "split each site's allocations by the memory cgroup (v1 or v2) of the allocating task: per-site cgroups in JSON, a cgroups section and view",
    })
    .option('by-task', { type: 'boolean', default: false, describe: "split each site's allocations by the allocating process (tgid and name)" })
    .option('pages', {
      type: 'boolean',
      default: false,
      describe: "the page allocator too: its unmovable and reclaimable allocations per call site (the first frame outside the allocator), by order; the slab allocator's own pages apart",
    })
    .option('older', {
      type: 'number',
      describe: 'count as live only the objects live for at least SECONDS (like memleak --older): leaks stay, churn goes; ages come from the sweep (Linux 6.13+)',
    })
    .option('include-self', {
      type: 'boolean',
      default: false,
      describe: "track kmemtop's own allocations too (loading its programs and maps, reading them); by default they are counted on one line and left out",
    })
    .option('verbose', { alias: 'v', type: 'boolean', default: false, describe: "print debug lines and libbpf's log to stderr" });
}

/* --format (text, json; --json is its alias): how a document is written. */
function formatOption(y: Argv): Argv {
  return y
    .option('format', { type: 'string', default: 'text', choices: FORMATS as unknown as string[], describe: 'output format (folded: flamegraph.pl and speedscope; record and snapshot)' })
    .option('weight', { type: 'string', default: 'liveBytes', choices: WEIGHTS as unknown as string[], describe: 'what a folded line is weighted by' })
    .option('json', { type: 'boolean', default: false, describe: 'write JSON: --format json (see docs/json.md)' });
}

/* The format a parsed command line asks for, and the json flag the commands test. */
function formatArgs(a: Record<string, unknown>): { format: Format; json: boolean; weight: Weight } {
  const format = (a.json ? 'json' : a.format) as Format;
  return { format, json: format === 'json', weight: (a.weight ?? 'liveBytes') as Weight };
}

/* --mode: the file mode of written reports (they name kernel functions and sizes: root-only by default). */
function modeOption(y: Argv): Argv {
  return y.option('mode', {
    type: 'string',
    default: '600',
    describe: 'file mode (octal) of the files written; reports name kernel functions and sizes, so they are root-only by default',
  });
}

/* The checked --mode of a parsed command line. */
function modeArg(a: Record<string, unknown>): number {
  const m = parseMode(String(a.mode ?? '600'));
  if (m === null) throw new UsageError('--mode takes an octal file mode such as 600 or 0644');
  return m;
}

function focusOptions(y: Argv): Argv {
  return y
    .option('module', { type: 'string', describe: 'only call sites in this module (e.g. the one being patched)' })
    .option('match', { type: 'string', describe: 'only call sites whose function matches this regular expression' });
}

/* Options of the commands that write a report: record and snapshot. */
function common(y: Argv): Argv {
  return formatOption(modeOption(focusOptions(tracerOptions(y))))
    .option('pprof', { type: 'string', describe: 'also write a gzipped pprof heap profile of every site to FILE (go tool pprof, speedscope; with --stacks, by stack)' })
    .option('bpf-stats', { type: 'boolean', default: false, describe: "measure the programs' own run time per event (kernel bpf_stats; adds two clock reads per event)" })
    .option('output', { alias: 'o', type: 'string', describe: 'write the report to FILE instead of stdout (mode --mode)' })
    .option('top', { type: 'number', default: 25, describe: 'number of call sites to show (0: all)' })
    .option('sort', { type: 'string', default: 'liveBytes', choices: SORT_KEYS as unknown as string[], describe: 'sort call sites by' });
}

function topOptions(y: Argv): Argv {
  return timelineOptions(focusOptions(tracerOptions(y)))
    .option('interval', { alias: 'd', type: 'number', default: 1, describe: 'seconds between refreshes' })
    .option('sort', { type: 'string', default: 'liveBytes', choices: SORT_KEYS as unknown as string[], describe: 'sort call sites by (the same keys as record)' })
    .option('filter', { type: 'string', default: '', describe: 'show only rows whose function, cache or module contains this text' })
    .option('batch', { alias: 'b', type: 'boolean', default: false, describe: 'print plain-text frames instead of the interactive view (like top -b)' })
    .option('iterations', { alias: 'n', type: 'number', default: 1, describe: 'frames to print in batch mode' })
    .option('json', { type: 'boolean', default: false, describe: 'batch mode: one JSON document per frame, one per line (the view\'s rows with their rates)' })
    .option('view', { type: 'string', default: 'sites', choices: ['sites', 'caches', 'shrinkers', 'cgroups'], describe: 'the view shown (first, or in batch mode the only one)' })
    .option('baseline', { type: 'string', describe: 'show growth since a saved report (snapshot --json, record --json) from the start, as after b' });
}

/* A completion script that asks kmemtop for the words (yargs answers --get-yargs-completions from the options table). */
export function completionScript(shell: 'bash' | 'zsh'): string {
  if (shell === 'zsh') {
    return [
      '#compdef kmemtop',
      '_kmemtop() {',
      '  local reply si=$IFS',
      '  IFS=$\'\\n\' reply=($(COMP_CWORD="$((CURRENT-1))" COMP_LINE="$BUFFER" COMP_POINT="$CURSOR" kmemtop --get-yargs-completions "${words[@]}"))',
      '  IFS=$si',
      "  _describe 'values' reply",
      '}',
      'compdef _kmemtop kmemtop',
    ].join('\n');
  }
  return [
    '# bash completion for kmemtop',
    '_kmemtop() {',
    '  local cur=${COMP_WORDS[COMP_CWORD]}',
    '  COMPREPLY=($(compgen -W "$(kmemtop --get-yargs-completions "${COMP_WORDS[@]}" 2>/dev/null)" -- "$cur"))',
    '}',
    'complete -o bashdefault -o default -F _kmemtop kmemtop',
  ].join('\n');
}

/* --timeline FILE and its knobs (record, top, watch, serve). */
function timelineOptions(y: Argv): Argv {
  return y
    .option('timeline', { type: 'string', describe: 'append a frame of every call site to FILE every --timeline-interval seconds: a flight recorder (kmemtop replay FILE; docs/timeline.md)' })
    .option('timeline-interval', { type: 'number', default: DEFAULT_TIMELINE_INTERVAL_S, describe: 'seconds between timeline frames' })
    .option('timeline-max', { type: 'string', default: '256M', describe: 'keep the timeline under this size: the oldest frames go (bytes, or 64M, 1G)' });
}

/* The --timeline flags as the commands take them; a bad value is a usage error naming the flag. */
function timelineArgs(a: Record<string, unknown>): TimelineFlags {
  if (a.timeline === undefined) return {};
  const s = a.timelineInterval as number;
  if (!(Number.isFinite(s) && s >= 0.25 && s <= 3600)) throw new UsageError('--timeline-interval takes a number of seconds from 0.25 to 3600');
  const max = sizeArg('--timeline-max', a.timelineMax);
  if (max < 64 << 10) throw new UsageError('--timeline-max takes at least 64K');
  const file = String(a.timeline);
  if (!file) throw new UsageError('--timeline takes a file name');
  return { timeline: { file, intervalMs: Math.round(s * 1000), maxBytes: max } };
}

/* The tracer flags every tracing command shares; the first problem, naming the flag. */
export function checkTracer(a: Partial<TracerFlags>): string | null {
  const intIn = (v: unknown, lo: number, hi: number) => typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi;
  if (!intIn(a.maxLive, 1024, 1 << 26)) return '--max-live takes a whole number from 1024 to 67108864';
  if (!intIn(a.maxSites, 64, 1 << 22)) return '--max-sites takes a whole number from 64 to 4194304';
  if (!intIn(a.sample, 1, 1 << 20)) return '--sample takes a whole number from 1 (every object) to 1048576';
  if (a.older !== undefined && !intIn(a.older, 1, 0xffffffff)) return '--older takes a whole number of seconds >= 1';
  return null;
}

/* --stacks[=DEPTH]: 0 when absent, the default depth when given bare; a usage error when not 1..127. */
export function stackDepthArg(v: unknown): number {
  if (v === undefined || v === false) return 0;
  if (v === '' || v === true) return DEFAULTS.stackDepth;
  const n = Number(v);
  if (!(Number.isInteger(n) && n >= 1 && n <= 127)) throw new UsageError('--stacks takes a depth: a whole number of frames from 1 to 127 (or nothing: the default)');
  return n;
}

/* The checked tracer flags of a parsed command line (a usage error when one is bad). */
function tracerArgs(a: Record<string, unknown>): TracerFlags {
  const flags = {
    maxLive: a.maxLive,
    maxSites: a.maxSites,
    catchNested: a.catchNested,
    sample: a.sample,
    includeSelf: a.includeSelf,
    stackDepth: stackDepthArg(a.stacks),
    byCgroup: a.byCgroup,
    byTask: a.byTask,
    older: a.older,
    pages: a.pages,
  } as TracerFlags;
  const problem = checkTracer(flags);
  if (problem) throw new UsageError(problem);
  return flags;
}

export function checkTop(a: Partial<TopArgs> & { interval?: number }): string | null {
  if (!(typeof a.interval === 'number' && Number.isFinite(a.interval) && a.interval >= 0.25 && a.interval <= 60)) {
    return '--interval takes seconds from 0.25 to 60';
  }
  if (!(typeof a.iterations === 'number' && Number.isInteger(a.iterations) && a.iterations >= 1)) return '--iterations takes a whole number >= 1';
  if (a.json && !a.batch) return '--json is for batch mode: kmemtop top -b --json';
  return checkTracer(a);
}

/* --match as a RegExp, or the usage error that names it. */
export function matchRegExp(pattern: string | undefined): RegExp | undefined {
  if (pattern === undefined) return undefined;
  try {
    return new RegExp(pattern);
  } catch (e) {
    throw new UsageError(`--match takes a regular expression: ${(e as Error).message}`);
  }
}

/*
 * A byte count as users write it (pure): 4096, 4K, 4k, 4KiB, 4KB, 1.5M, 2G,
 * 1T (units are powers of 1024, as the kernel's own figures); null when it
 * is not one.
 */
export function parseSize(v: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:([KMGT])(?:i?B)?|B)?\s*$/i.exec(v);
  if (!m) return null;
  const mult = m[2] ? 1024 ** ('KMGT'.indexOf(m[2].toUpperCase()) + 1) : 1;
  const n = Math.round(Number(m[1]) * mult);
  return Number.isSafeInteger(n) ? n : null;
}

/* A size option's value, or the usage error that names it. */
function sizeArg(flag: string, v: unknown): number {
  const n = parseSize(String(v));
  if (n === null) throw new UsageError(`${flag} takes a number of bytes, or with a unit: 4096, 4K, 1M, 1GiB`);
  return n;
}

export function checkDiff(a: Partial<DiffArgs>): string | null {
  if (a.failOnGrowth !== undefined && !(Number.isFinite(a.failOnGrowth) && a.failOnGrowth >= 0)) return '--fail-on-growth takes a number of bytes >= 0';
  if (!(typeof a.minChange === 'number' && Number.isFinite(a.minChange) && a.minChange >= 0)) return '--min-change takes a number of bytes >= 0';
  return null;
}

/* Pure validation of parsed options; returns the first problem, naming the flag. */
export function check(a: Partial<RecordArgs & SnapshotArgs>, cmd: 'record' | 'snapshot'): string | null {
  const intIn = (v: unknown, lo: number, hi: number) => typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi;
  if (!intIn(a.top, 0, 1e9)) return '--top takes a whole number >= 0 (0 shows all sites)';
  const tracer = checkTracer(a);
  if (tracer) return tracer;
  if (a.output !== undefined && a.output === '') return '--output needs a file name';
  if (cmd === 'record' && !intIn(a.settleMs, 0, 3_600_000)) return '--settle-ms takes a whole number of milliseconds from 0 to 3600000';
  if (cmd === 'record' && (!a.command || a.command.length === 0)) {
    return 'record needs a command to run after --, e.g. kmemtop record -- ./run-tests.sh';
  }
  if (cmd === 'snapshot' && a.duration !== undefined && !(typeof a.duration === 'number' && Number.isFinite(a.duration) && a.duration > 0 && a.duration <= 86400)) {
    return '--duration takes a number of seconds > 0 (at most 86400)';
  }
  if (cmd === 'snapshot' && a.session && a.duration !== undefined) {
    return '--session reads the running session since it started; --duration traces a window of its own: give one of them';
  }
  return null;
}

export class UsageError extends Error {}

/* Parse argv (without node and script) into a command and its checked arguments. */
/* The tracing flags a session is started with: a read of it can honour them only if it was. */
export const SESSION_FLAGS = ['--sample', '--stacks', '--by-cgroup', '--by-task', '--pages', '--catch-nested', '--include-self', '--max-live', '--max-sites'] as const;

/* Which of SESSION_FLAGS argv gives (as --flag or --flag=VALUE), before any "--". */
export function givenFlags(argv: string[]): string[] {
  const end = argv.indexOf('--');
  const words = end >= 0 ? argv.slice(0, end) : argv;
  return SESSION_FLAGS.filter((f) => words.some((w) => w === f || w.startsWith(`${f}=`)));
}

export function parse(argv: string[]): Parsed {
  let result: Parsed | null = null;
  const y = yargs(argv)
    .scriptName('kmemtop')
    .parserConfiguration({ 'populate--': true })
    .usage('kmemtop: per-call-site kernel memory allocation profiler\n\nUsage: kmemtop [command] [options]')
    .command(
      ['top', '$0'],
      'the live view (default): call sites, slab caches, shrinkers',
      (c) => topOptions(c),
      (a) => {
        const problem = checkTop(a as never);
        if (problem) throw new UsageError(problem);
        result = {
          cmd: 'top',
          args: {
            intervalMs: Math.round((a.interval as number) * 1000),
            sort: a.sort as string,
            filter: a.filter as string,
            batch: a.batch as boolean,
            iterations: a.iterations as number,
            json: a.json as boolean,
            view: a.view as TopArgs['view'],
            baseline: a.baseline as string | undefined,
            ...tracerArgs(a),
            ...timelineArgs(a),
            verbose: a.verbose as boolean,
            module: a.module as string | undefined,
            match: a.match as string | undefined,
          },
        };
        matchRegExp(a.match as string | undefined);
      },
    )
    .command(
      'record',
      'trace while a command runs: kmemtop record [options] -- CMD [ARGS...]',
      (c) =>
        timelineOptions(common(c))
          .option('settle-ms', {
            type: 'number',
            default: 0,
            describe: 'keep tracing this long after CMD exits, so RCU-deferred frees land (ms)',
          })
          .option('task-tree', {
            type: 'boolean',
            default: false,
            describe: 'count only allocations made in task context by CMD and its descendants (frees are matched wherever they happen)',
          }),
      (a) => {
        const args = { ...(a as unknown as RecordArgs), ...formatArgs(a), mode: modeArg(a), stackDepth: stackDepthArg(a.stacks), command: ((a['--'] as string[] | undefined) ?? []).map(String), timeline: undefined, ...timelineArgs(a) };
        result = { cmd: 'record', args };
      },
    )
    .command(
      'snapshot',
      'report: the running session (kmemtop start), or trace the whole machine for --duration seconds',
      (c) =>
        common(c)
          .option('duration', { alias: 'd', type: 'number', describe: 'seconds to trace: a window of its own, also while a session runs' })
          .option('session', { type: 'boolean', default: false, describe: 'read the running session (what snapshot does without --duration)' }),
      (a) => {
        result = {
          cmd: 'snapshot',
          args: { ...(a as unknown as SnapshotArgs), ...formatArgs(a), mode: modeArg(a), stackDepth: stackDepthArg(a.stacks), given: givenFlags(argv) },
        };
      },
    )
    .command(
      'report',
      'the memory report: slab vs LRU verdict, largest caches, call sites, shrinkers, fragmentation',
      (c) =>
        formatOption(modeOption(tracerOptions(c)))
          .option('output', { alias: 'o', type: 'string', describe: 'write the report to FILE instead of stdout' })
          .option('duration', { alias: 'd', type: 'number', describe: 'without a session: trace this many seconds for the call-site sections' }),
      (a) => {
        const d = a.duration as number | undefined;
        if (d !== undefined && !(Number.isFinite(d) && d > 0 && d <= 86400)) throw new UsageError('--duration takes a number of seconds > 0 (at most 86400)');
        result = { cmd: 'report', args: { ...(a as unknown as ReportArgs), ...tracerArgs(a), ...formatArgs(a), mode: modeArg(a) } };
      },
    )
    .command(
      'watch',
      'stay attached; write a report when an OOM kill happens (--on-oom)',
      (c) =>
        timelineOptions(modeOption(tracerOptions(c)))
          .option('on-oom', { type: 'boolean', default: false, describe: 'write a report at each OOM kill (oom:mark_victim)' })
          .option('output', { alias: 'o', type: 'string', default: '.', describe: 'directory for the reports' })
          .option('max-reports', { type: 'number', default: 5, describe: 'at most this many reports ...' })
          .option('per', { type: 'number', default: 60, describe: '... per this many seconds (more kills get one line each)' }),
      (a) => {
        const n = a.maxReports as number;
        const per = a.per as number;
        if (!(Number.isInteger(n) && n >= 1)) throw new UsageError('--max-reports takes a whole number >= 1');
        if (!(Number.isFinite(per) && per > 0)) throw new UsageError('--per takes a number of seconds > 0');
        result = {
          cmd: 'watch',
          args: {
            onOom: a.onOom as boolean,
            dir: a.output as string,
            mode: modeArg(a),
            maxReports: n,
            perSeconds: per,
            ...tracerArgs(a),
            ...timelineArgs(a),
            verbose: a.verbose as boolean,
          },
        };
      },
    )
    .command(
      'serve',
      'stay running and serve /metrics (Prometheus, OpenMetrics), /debug/pprof/heap, /snapshot and /healthz over HTTP; starts a session, or adopts the running one',
      (c) =>
        timelineOptions(tracerOptions(c))
          .option('sample', {
            type: 'number',
            default: SERVE_SAMPLE,
            describe: 'track 1 object in N (by address hash); serve samples by default (live figures become estimates, allocation counts stay exact); 1: every object',
          })
          .option('listen', { type: 'string', default: DEFAULT_LISTEN, describe: 'HOST:PORT to serve on ([V6]:PORT for IPv6); localhost by default' })
          .option('top', { type: 'number', default: DEFAULT_TOP_SITES, describe: 'sites given series of their own at each scrape, by live bytes; a site keeps its series once given, the rest are one function="other" series (0: all)' })
          .option('max-series', { type: 'number', default: DEFAULT_MAX_SERIES, describe: 'sites (and cgroups) given series of their own in all, for the life of the process; past it kmemtop_series_capped is 1' })
          .option('top-cgroups', { type: 'number', default: DEFAULT_TOP_CGROUPS, describe: 'with --by-cgroup: memory cgroups given series of their own at each scrape (the rest: cgroup="other")' })
          .option('web-config', { type: 'string', describe: 'TLS and basic auth, in the exporter-toolkit format node_exporter takes (tls_server_config, basic_auth_users; docs/serve.md)' })
          .option('expose-tasks', { type: 'boolean', default: false, describe: '/snapshot includes process names and cgroup paths (left out by default)' }),
      (a) => {
        const addr = parseListen(String(a.listen));
        if (!addr) throw new UsageError('--listen takes HOST:PORT (e.g. 127.0.0.1:9713, or [::1]:9713), port 1-65535');
        const top = a.top as number;
        if (!(Number.isInteger(top) && top >= 0)) throw new UsageError('--top takes a whole number of sites (0: all)');
        const maxSeries = a.maxSeries as number;
        if (!(Number.isInteger(maxSeries) && maxSeries >= 1 && maxSeries <= 1_000_000)) throw new UsageError('--max-series takes a whole number from 1 to 1000000');
        const topCgroups = a.topCgroups as number;
        if (!(Number.isInteger(topCgroups) && topCgroups >= 0)) throw new UsageError('--top-cgroups takes a whole number of cgroups (0: all)');
        result = {
          cmd: 'serve',
          args: { ...tracerArgs(a), ...timelineArgs(a), host: addr.host, port: addr.port, top, maxSeries, topCgroups, webConfig: a.webConfig as string | undefined, exposeTasks: !!a.exposeTasks, verbose: a.verbose as boolean },
        };
      },
    )
    .command(
      'replay <file>',
      'a recording made with --timeline: the live view over it (arrows step frames), one frame (-b --at), or every frame as JSON lines (--export json)',
      (c) =>
        modeOption(focusOptions(c))
          .positional('file', { type: 'string', describe: 'the timeline (--timeline FILE of record, top, watch or serve)' })
          .option('batch', { alias: 'b', type: 'boolean', default: false, describe: 'print one frame as top -b does' })
          .option('at', { type: 'string', describe: 'the frame shown: start, end (default), HH:MM[:SS] (UTC), an ISO time, -5m (before the end), +90s (after the start)' })
          .option('since', { type: 'string', describe: 'growth columns from this frame (same times as --at)' })
          .option('json', { type: 'boolean', default: false, describe: 'with -b: the frame as a JSON document' })
          .option('export', { type: 'string', choices: ['json'], describe: 'write every frame as one JSON line (the snapshot, sites whole)' })
          .option('output', { alias: 'o', type: 'string', describe: 'with --export: write to FILE instead of stdout' })
          .option('view', { type: 'string', choices: ['sites', 'caches', 'shrinkers', 'cgroups'], describe: 'the view shown' })
          .option('sort', { type: 'string', choices: SORT_KEYS as unknown as string[], describe: 'sort call sites by' })
          .option('filter', { type: 'string', describe: 'show only rows whose function, cache or module contains this text' }),
      (a) => {
        matchRegExp(a.match as string | undefined);
        result = {
          cmd: 'replay',
          args: {
            file: String(a.file),
            batch: a.batch as boolean,
            json: a.json as boolean,
            at: a.at as string | undefined,
            since: a.since as string | undefined,
            exportJson: a.export === 'json',
            output: a.output as string | undefined,
            mode: modeArg(a),
            view: a.view as ReplayArgs['view'],
            sort: a.sort as string | undefined,
            filter: a.filter as string | undefined,
            module: a.module as string | undefined,
            match: a.match as string | undefined,
            verbose: a.verbose as boolean,
          },
        };
      },
    )
    .command(
      'start',
      'start a tracing session that outlives this command (pinned under /sys/fs/bpf/kmemtop)',
      (c) => timelineOptions(tracerOptions(c)),
      (a) => {
        result = { cmd: 'start', args: { ...(a as unknown as CommonArgs), ...tracerArgs(a), timeline: undefined, ...timelineArgs(a) } };
      },
    )
    .command(
      'stop',
      'stop the session: detach and remove everything',
      (c) => c.option('verbose', { alias: 'v', type: 'boolean', default: false, describe: 'print debug lines' }),
      (a) => {
        result = { cmd: 'stop', args: { verbose: a.verbose as boolean } };
      },
    )
    .command(
      'status',
      'whether a session runs, since when, how full its maps are (exit 1 when none)',
      (c) =>
        formatOption(c).option('verbose', { alias: 'v', type: 'boolean', default: false, describe: 'print debug lines' }),
      (a) => {
        result = { cmd: 'status', args: { ...formatArgs(a), verbose: a.verbose as boolean } };
      },
    )
    .command(
      'diff <before> <after>',
      'compare two reports (record/snapshot --json --top 0): what grew, per call site',
      (c) =>
        formatOption(modeOption(focusOptions(c)))
          .positional('before', { type: 'string', describe: 'report taken before' })
          .positional('after', { type: 'string', describe: 'report taken after' })
          .option('output', { alias: 'o', type: 'string', describe: 'write the diff to FILE instead of stdout' })
          .option('fail-on-growth', {
            type: 'string',
            describe: 'exit 1 when the sites that grew gained more than this many live bytes beyond what phantom objects could explain, in caches the shrinkers do not free (for CI); exit 3, inconclusive, when events lost between the reports could move the growth across it; bytes, or with a unit: 512K, 1M, 1GiB',
          })
          .option('include-reclaimable', {
            type: 'boolean',
            default: false,
            describe: 'count growth in reclaimable caches (dentries, inodes) against --fail-on-growth too',
          })
          .option('min-change', { type: 'string', default: '0', describe: 'hide sites whose live bytes changed by less than this (bytes, or 4K, 1M, ...)' })
          .option('by-stack', {
            type: 'boolean',
            default: false,
            describe: 'match and report per allocation stack (callers past the call site, by function name); both reports written with --stacks',
          })
          .option('verbose', { alias: 'v', type: 'boolean', default: false, describe: 'print debug lines' }),
      (a) => {
        const args: DiffArgs = {
          before: String(a.before),
          after: String(a.after),
          ...formatArgs(a),
          output: a.output as string | undefined,
          mode: modeArg(a),
          failOnGrowth: a.failOnGrowth === undefined ? undefined : sizeArg('--fail-on-growth', a.failOnGrowth),
          includeReclaimable: a.includeReclaimable as boolean,
          minChange: sizeArg('--min-change', a.minChange),
          byStack: a.byStack as boolean,
          module: a.module as string | undefined,
          match: a.match as string | undefined,
          verbose: a.verbose as boolean,
        };
        const problem = checkDiff(args);
        if (problem) throw new UsageError(problem);
        matchRegExp(args.match);
        result = { cmd: 'diff', args };
      },
    )
    .command(
      'version',
      'the version, the commit it was built from, the BPF objects\' build id; --json adds what this kernel allows',
      (c) => c.option('json', { type: 'boolean', default: false, describe: 'as JSON, with the kernel features' }),
      (a) => {
        result = { cmd: 'version', args: { json: a.json as boolean, verbose: false } };
      },
    )
    .command(
      'completion',
      'print a shell completion script: kmemtop completion > /etc/bash_completion.d/kmemtop (--shell zsh: for zsh\'s fpath, as _kmemtop)',
      (c) => c.option('shell', { type: 'string', choices: ['bash', 'zsh'], default: 'bash', describe: 'the shell the script is for' }),
      (a) => {
        result = { cmd: 'help', text: completionScript(a.shell as 'bash' | 'zsh') };
      },
    )
    /* The completions themselves: the scripts run kmemtop --get-yargs-completions WORDS. */
    .completion('__complete', false)
    .strict()
    .help()
    .alias('h', 'help')
    .version(false)
    .epilogue('Examples:\n' + EXAMPLES.map(([c, d]) => `  ${c}\n      ${d}`).join('\n'))
    .wrap(Math.min(100, process.stdout.columns || 100))
    .exitProcess(false)
    .fail((msg, err) => {
      throw new UsageError(msg || (err ? err.message : 'bad arguments'));
    });

  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) return { cmd: 'version', args: { json: false, verbose: false } };
  let helpText = '';
  y.parseSync(argv, {}, (_err, _argv, output) => {
    if (output) helpText = output;
  });
  if (helpText) return { cmd: 'help', text: helpText };
  if (!result) throw new UsageError('unknown command (kmemtop --help lists them)');
  const r = result as Parsed;
  if (r.cmd === 'record' || r.cmd === 'snapshot') {
    const problem = check(r.args, r.cmd);
    if (problem) throw new UsageError(problem);
    matchRegExp(r.args.match);
  }
  return r;
}
