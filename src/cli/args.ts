/*
 * The parsed arguments of every command (options.ts fills them), and what
 * Tracer.start makes of the tracer flags every tracing command shares.
 * Types only, and one mapping: the commands, the options table and the
 * live view's runner all import from here, and this imports none of them.
 */
import type { TracerOptions } from '../collect/tracer';
import type { SortKey } from '../model/snapshot';
import type { Format, Weight } from '../output/formats';

export interface TracerFlags {
  maxLive: number;
  maxSites: number;
  catchNested: boolean;
  /* --sample N: track 1 object in N (1: all). */
  sample: number;
  /* --include-self: track kmemtop's own allocations too. */
  includeSelf?: boolean;
  /* --stacks[=DEPTH]: frames per allocation stack (0: none). */
  stackDepth?: number;
  /* --by-cgroup, --by-task: allocations by the allocating task's memory cgroup, process. */
  byCgroup?: boolean;
  byTask?: boolean;
  /* --older SECONDS: only objects live at least that long count as live (0: all). */
  older?: number;
  /* --pages: the page allocator's unmovable and reclaimable allocations per call site too. */
  pages?: boolean;
}

/* What Tracer.start takes from those flags. */
export function tracerFlags(a: TracerFlags): TracerOptions {
  return {
    maxLive: a.maxLive, maxSites: a.maxSites, catchNested: a.catchNested, sampleOneIn: a.sample, includeSelf: a.includeSelf ?? false,
    stackDepth: a.stackDepth ?? 0,
    byCgroup: a.byCgroup ?? false,
    byTask: a.byTask ?? false,
    olderThan: a.older ?? 0,
    pages: a.pages ?? false,
  };
}


/* --timeline FILE: a frame every intervalMs, the file kept under maxBytes (timeline/file.ts). */
export interface TimelineSpec {
  file: string;
  intervalMs: number;
  maxBytes: number;
}

export interface TimelineFlags {
  timeline?: TimelineSpec;
}

export interface CommonArgs extends TracerFlags {
  module?: string;
  match?: string;
  /* --format (--json: format json, and json true). */
  format: Format;
  json: boolean;
  /* --weight: what a folded line is weighted by. */
  weight?: Weight;
  output?: string;
  /* --mode: file mode of what -o writes (default 0600). */
  mode: number;
  top: number;
  sort: SortKey;
  verbose: boolean;
  /* --bpf-stats: kernel run-time statistics of the programs while tracing (record, snapshot). */
  bpfStats: boolean;
  /* --pprof FILE: also a pprof heap profile of every site (record, snapshot). */
  pprof?: string;
}

export interface RecordArgs extends CommonArgs, TimelineFlags {
  command: string[];
  settleMs: number;
  taskTree: boolean;
}

export interface SnapshotArgs extends CommonArgs {
  /* Trace this many seconds (a window of its own, whether or not a session runs); absent: read the running session. */
  duration?: number;
  /* --session: read the running session (the default without --duration; an error with it). */
  session: boolean;
  /* The tracing flags given on the command line (not defaulted): a session read cannot honour them unless it has them. */
  given: string[];
}

export interface DiffArgs {
  before: string;
  after: string;
  /* --format (--json: format json, and json true). */
  format: Format;
  json: boolean;
  /* --weight: what a folded line is weighted by. */
  weight?: Weight;
  output?: string;
  mode: number;
  failOnGrowth?: number;
  /* Count growth in reclaimable caches (dentries, inodes) against --fail-on-growth too. */
  includeReclaimable: boolean;
  minChange: number;
  /* --by-stack: match and report per allocation stack (both reports written with --stacks). */
  byStack?: boolean;
  module?: string;
  match?: string;
  verbose: boolean;
}

export interface ReportArgs extends TracerFlags {
  verbose: boolean;
  /* --format (--json: format json, and json true). */
  format: Format;
  json: boolean;
  /* --weight: what a folded line is weighted by. */
  weight?: Weight;
  output?: string;
  mode: number;
  duration?: number;
}

export interface WatchArgs extends TracerFlags, TimelineFlags {
  verbose: boolean;
  onOom: boolean;
  dir: string;
  mode: number;
  maxReports: number;
  perSeconds: number;
}

export interface ServeArgs extends TracerFlags, TimelineFlags {
  verbose: boolean;
  /* --listen HOST:PORT */
  host: string;
  port: number;
  /* --top: sites promoted to series of their own per scrape; --max-series: in all; --top-cgroups (--by-cgroup). */
  top: number;
  maxSeries: number;
  topCgroups: number;
  /* --web-config FILE (TLS, basic auth), --expose-tasks (process names, cgroup paths in /snapshot). */
  webConfig?: string;
  exposeTasks: boolean;
}

export interface TopArgs extends TracerFlags, TimelineFlags {
  module?: string;
  match?: string;
  intervalMs: number;
  sort?: string;
  filter?: string;
  batch: boolean;
  iterations: number;
  verbose: boolean;
  /* Batch mode: one JSON document per frame (newline-delimited). */
  json: boolean;
  /* The view shown first (batch: the only one). */
  view: 'sites' | 'caches' | 'shrinkers' | 'cgroups';
  /* --baseline FILE: growth from a saved report. */
  baseline?: string;
}

/* kmemtop replay FILE: the live view over a timeline, a frame of it (-b), or all of it as JSON lines (--export json). */
export interface ReplayArgs {
  file: string;
  batch: boolean;
  json: boolean;
  /* -b: the frame at this time (default: the last), and the baseline frame of the growth columns. */
  at?: string;
  since?: string;
  exportJson: boolean;
  output?: string;
  mode: number;
  view?: 'sites' | 'caches' | 'shrinkers' | 'cgroups';
  sort?: string;
  filter?: string;
  module?: string;
  match?: string;
  verbose: boolean;
}
