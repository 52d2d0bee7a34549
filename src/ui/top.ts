/*
 * The live view's loop: collect -> model -> render, one tick loop.  Keys
 * change the state through the pure reducer and re-render at once.  Every
 * way out -- q, SIGINT, SIGTERM, an error -- restores the terminal; the
 * command (cli/top.ts) detaches the programs.
 */
import type { Tracer } from '../collect/tracer';
import { Kallsyms } from '../sys/kallsyms';
import { buildSnapshot, Snapshot } from '../model/snapshot';
import { focus, SiteFilter } from '../model/diff';
import { readMeminfo } from '../sys/meminfo';
import { Baseline, buildUiModel, History, markBaseline, SiteRow, siteSplits, UiModel, viewRows } from './model';
import { follow, initialState, pin, reduce, UiState, View } from './state';
import { frameText, helpScrollMax, renderFrame } from './render';
import { Screen } from './screen';
import * as log from '../log';
import { olderOnly } from '../model/older';
import type { TimelineWriter } from '../timeline/file';

/* How the view runs: refresh interval, first sort and filter; batch: plain frames to stdout (like top -b). */
export interface LiveViewOptions {
  intervalMs: number;
  sort?: string;
  filter?: string;
  batch: boolean;
  /* Frames in batch mode. */
  iterations: number;
  /* Batch mode: a JSON document per frame instead of text. */
  json?: boolean;
  view?: View;
  /* Growth from a saved report from the start (--baseline FILE). */
  baseline?: Baseline | null;
}

/* Replay only: moving through the recording's frames. */
export interface ReplayControl {
  /* n frames on (negative: back), or n minutes of recording; to the first or last frame. */
  step(n: number): void;
  stepMinutes(n: number): void;
  toEnd(last: boolean): void;
  /* Jump to a time (replay's time syntax); an error text, or null when done. */
  jump(time: string): string | null;
  /* The shown frame's time, for the baseline's label. */
  shownTime(): string;
}

/* Where the view's models come from: the tracer now (Sampler), or a recording (ui/replay.ts). */
export interface ModelSource {
  sample(): UiModel;
  rebase(baseline: Baseline | null): UiModel | null;
  readonly history: History;
  baseline: Baseline | null;
  readonly replay?: ReplayControl;
}

/* Reads the tracer into successive UI models. */
export class Sampler implements ModelSource {
  private prev: Snapshot | null = null;
  private prevModel: UiModel | null = null;
  private prevMs = 0;
  /* The inputs of the last model, to build it again under a new baseline without a read. */
  private last: { snap: Snapshot; prev: Snapshot | null; dtMs: number; mem: ReturnType<typeof readMeminfo> } | null = null;
  baseline: Baseline | null = null;
  readonly history = new History();

  constructor(
    private readonly tracer: Tracer,
    private readonly syms: Kallsyms,
    private readonly filter: SiteFilter = {},
    /* --older: only objects live at least this many seconds count as live (0: all). */
    private readonly older = 0,
    /* --timeline: every sample is offered to it (it writes one each interval). */
    private readonly timeline: TimelineWriter | null = null,
  ) {
    this.prevMs = tracer.startedMonotonicMs;
  }

  sample(): UiModel {
    /*
     * slabinfo bounds the per-cache corrections, and the sweep retires dead
     * objects whose slab is gone: every few seconds is enough for the live view.
     */
    const raw = this.tracer.read({ slabinfoMaxAgeMs: 4500, sweepMaxAgeMs: 4500 });
    let all = buildSnapshot(raw, this.tracer.window, (ip) => this.syms.resolve(ip));
    /* Without object ages on this kernel --older cannot apply: not a failure to start; the header says ages are off. */
    if (this.older && raw.ages) all = olderOnly(all, this.older);
    const snap = focus(all, this.filter);
    const mem = readMeminfo();
    this.timeline?.add(all, { mem });
    const model = buildUiModel(snap, this.prev, raw.monotonicMs - this.prevMs, mem, this.prevModel, this.baseline);
    this.last = { snap, prev: this.prev, dtMs: raw.monotonicMs - this.prevMs, mem };
    this.prev = snap;
    this.prevModel = model;
    this.prevMs = raw.monotonicMs;
    this.history.add(model.sites);
    return model;
  }

  /* The last model again, under a new baseline (b marks, B clears); null before the first sample. */
  rebase(baseline: Baseline | null): UiModel | null {
    this.baseline = baseline;
    if (!this.last) return null;
    const l = this.last;
    this.prevModel = buildUiModel(l.snap, l.prev, l.dtMs, l.mem, null, baseline);
    return this.prevModel;
  }
}

/* HH:MM:SS of a time, local. */
function clock(d: Date): string {
  return d.toTimeString().slice(0, 8);
}

/* A row of the view as plain data (batch --json). */
function rowData(r: ReturnType<typeof viewRows>[number]): Record<string, unknown> {
  if (!(r instanceof SiteRow)) return { ...r };
  const s = r.site;
  return {
    function: s.function,
    offset: s.offset,
    module: s.module,
    cache: s.cache,
    liveBytes: r.liveBytes,
    liveObjects: r.liveObjects,
    liveUpperBound: r.liveUpperBound,
    ...(r.base !== undefined ? { growthBytes: r.growthBytes, growthObjects: r.growthObjects } : {}),
    allocsPerSec: r.allocsPerSec,
    freesPerSec: r.freesPerSec,
    bytesPerSec: r.bytesPerSec,
    allocs: r.allocs,
    frees: r.frees,
    avgSize: r.avgSize,
    fragmentation: r.fragmentation,
    age: s.age ?? null,
  };
}

/* Batch width: COLUMNS when set, the terminal's when there is one, else unlimited (whole names in files). */
export function batchWidth(env: NodeJS.ProcessEnv, tty: boolean, columns: number | undefined): number {
  const c = Number(env.COLUMNS);
  if (Number.isInteger(c) && c >= 40) return c;
  return tty && columns ? columns : 100_000;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function runBatch(a: LiveViewOptions, sampler: ModelSource): Promise<number> {
  const state: UiState = initialState({ intervalMs: a.intervalMs, sort: a.sort, filter: a.filter, view: a.view, baseline: !!a.baseline });
  sampler.baseline = a.baseline ?? null;
  const width = batchWidth(process.env, !!process.stdout.isTTY, process.stdout.columns);
  for (let i = 0; i < a.iterations; i++) {
    if (!sampler.replay) await sleep(state.intervalMs);
    const m = sampler.sample();
    const rows = viewRows(m, state);
    if (a.json) {
      process.stdout.write(
        JSON.stringify({ tool: 'kmemtop', kind: sampler.replay ? 'replay' : 'top', time: sampler.replay ? sampler.replay.shownTime() : new Date().toISOString(), view: state.view, sort: state.sort[state.view], baseline: m.baseline?.label ?? null, header: m.header, rows: rows.map(rowData) }) + '\n',
      );
      continue;
    }
    /* Like top -b: every row of the view, header first. */
    const frame = renderFrame(m, state, sampler.history, width, rows.length + 5, true);
    process.stdout.write(frameText(frame) + '\n\n');
  }
  return 0;
}

function runInteractive(a: LiveViewOptions, sampler: ModelSource): Promise<number> {
  return new Promise((resolve, reject) => {
    const screen = new Screen(!process.env.NO_COLOR);
    let state = initialState({ intervalMs: a.intervalMs, sort: a.sort, filter: a.filter, view: a.view, baseline: !!a.baseline });
    sampler.baseline = a.baseline ?? null;
    let model: UiModel | null = null;
    let timer: NodeJS.Timeout | null = null;
    let done = false;

    const finish = (err: unknown) => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
      screen.destroy();
      if (err) reject(err);
      else resolve(0);
    };
    const paint = () => {
      if (model && !done) screen.paint(renderFrame(model, state, sampler.history, screen.width, screen.height));
    };
    const tick = () => {
      timer = null;
      try {
        const t0 = process.hrtime.bigint();
        const fresh = !state.paused || !model;
        if (fresh) {
          model = sampler.sample();
          /* The selection (and the detail pane) stays on its row, wherever the new order puts it. */
          state = follow(state, viewRows(model, state).map((r) => r.key));
        }
        const t1 = process.hrtime.bigint();
        /* Paused: the frame only changes on a key, which paints by itself. */
        if (fresh) paint();
        log.debug(`tick: sample ${Number(t1 - t0) / 1e6} ms, paint ${Number(process.hrtime.bigint() - t1) / 1e6} ms`);
      } catch (e) {
        finish(e);
        return;
      }
      timer = setTimeout(tick, state.intervalMs);
    };
    const onSignal = () => finish(null);

    screen.onKey((key) => {
      /* Replay: ←/→ a frame, [/] a minute, Home/End the first and last; t types a time. */
      const r = sampler.replay;
      if (r && state.filterEdit === null && state.delayEdit === null && state.timeEdit === null && !state.help) {
        const moves: Record<string, () => void> = {
          left: () => r.step(-1),
          right: () => r.step(1),
          '[': () => r.stepMinutes(-1),
          ']': () => r.stepMinutes(1),
          home: () => r.toEnd(false),
          end: () => r.toEnd(true),
        };
        if (moves[key]) {
          moves[key]();
          model = sampler.sample();
          state = follow(state, viewRows(model, state).map((x) => x.key));
          return paint();
        }
      }
      const editing = state.timeEdit;
      const shown = model ? viewRows(model, state) : [];
      const before = state.intervalMs;
      const was = state;
      const page = Math.max(1, screen.height - 8);
      const selected = shown[state.selected];
      state = reduce(state, key, shown.length, page, {
        splits: state.view === 'sites' && selected ? siteSplits((selected as SiteRow).site) : undefined,
        helpMax: model ? helpScrollMax(model, state, screen.width, screen.height) : 0,
        replay: !!r,
      });
      if (model) state = pin(state, viewRows(model, state).map((r) => r.key));
      if (state.quit) return finish(null);
      /* t, then Enter: the time typed. */
      if (r && editing !== null && state.timeEdit === null && key === 'enter') {
        const err = r.jump(editing);
        if (err) state = { ...state, message: err };
        else {
          model = sampler.sample();
          state = follow(state, viewRows(model, state).map((x) => x.key));
        }
      }
      /* b marks from what is on screen now (in a replay: the frame shown); B clears. */
      if (state.markSeq !== was.markSeq && model) model = sampler.rebase(markBaseline(model, `since ${r ? r.shownTime() : clock(new Date())}`)) ?? model;
      else if (!state.baseline && was.baseline) model = sampler.rebase(null) ?? model;
      if (state.intervalMs !== before && timer) {
        clearTimeout(timer);
        timer = setTimeout(tick, state.intervalMs);
      }
      paint();
    });
    screen.onResize(paint);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    tick();
  });
}

/* Run the view over sampler until q, a signal or an error (batch: for a.iterations frames). */
export function runLiveView(a: LiveViewOptions, sampler: ModelSource): Promise<number> {
  return a.batch ? runBatch(a, sampler) : runInteractive(a, sampler);
}
