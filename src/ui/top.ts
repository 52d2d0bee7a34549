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
import { buildUiModel, History, UiModel, viewRows } from './model';
import { initialState, reduce, UiState } from './state';
import { frameText, renderFrame } from './render';
import { Screen } from './screen';
import * as log from '../log';

/* How the view runs: refresh interval, first sort and filter; batch: plain frames to stdout (like top -b). */
export interface LiveViewOptions {
  intervalMs: number;
  sort?: string;
  filter?: string;
  batch: boolean;
  /* Frames in batch mode. */
  iterations: number;
}

/* Reads the tracer into successive UI models. */
export class Sampler {
  private prev: Snapshot | null = null;
  private prevModel: UiModel | null = null;
  private prevMs = 0;
  readonly history = new History();

  constructor(
    private readonly tracer: Tracer,
    private readonly syms: Kallsyms,
    private readonly filter: SiteFilter = {},
  ) {
    this.prevMs = tracer.startedMonotonicMs;
  }

  sample(): UiModel {
    /*
     * slabinfo bounds the per-cache corrections, and the sweep retires dead
     * objects whose slab is gone: every few seconds is enough for the live view.
     */
    const raw = this.tracer.read({ slabinfoMaxAgeMs: 4500, sweepMaxAgeMs: 4500 });
    const snap = focus(buildSnapshot(raw, this.tracer.window, (ip) => this.syms.resolve(ip)), this.filter);
    const model = buildUiModel(snap, this.prev, raw.monotonicMs - this.prevMs, readMeminfo(), this.prevModel);
    this.prev = snap;
    this.prevModel = model;
    this.prevMs = raw.monotonicMs;
    this.history.add(model.sites);
    return model;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function runBatch(a: LiveViewOptions, sampler: Sampler): Promise<number> {
  const state: UiState = initialState({ intervalMs: a.intervalMs, sort: a.sort, filter: a.filter });
  const width = Math.max(80, process.stdout.columns || 132);
  for (let i = 0; i < a.iterations; i++) {
    await sleep(state.intervalMs);
    const m = sampler.sample();
    const rows = viewRows(m, state).length;
    /* Like top -b: every row of the view, header first. */
    const frame = renderFrame(m, state, sampler.history, width, rows + 6);
    process.stdout.write(frameText(frame) + '\n\n');
  }
  return 0;
}

function runInteractive(a: LiveViewOptions, sampler: Sampler): Promise<number> {
  return new Promise((resolve, reject) => {
    const screen = new Screen(!process.env.NO_COLOR);
    let state = initialState({ intervalMs: a.intervalMs, sort: a.sort, filter: a.filter });
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
        if (fresh) model = sampler.sample();
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
      const rows = model ? viewRows(model, state).length : 0;
      const before = state.intervalMs;
      state = reduce(state, key, rows, Math.max(1, screen.height - 8));
      if (state.quit) return finish(null);
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
export function runLiveView(a: LiveViewOptions, sampler: Sampler): Promise<number> {
  return a.batch ? runBatch(a, sampler) : runInteractive(a, sampler);
}
