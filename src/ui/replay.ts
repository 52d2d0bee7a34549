/*
 * The live view over a recording (kmemtop replay): each frame of a timeline
 * as the UI model the live view shows, its rates over the frame before, the
 * header saying which frame.  Moves are by frame, by minute, to either end
 * or to a time (timeline/format.ts parseTimeIn).
 */
import type { Snapshot } from '../model/snapshot';
import { focus, SiteFilter } from '../model/diff';
import { parseTimeIn, Replay } from '../timeline/format';
import { Baseline, buildUiModel, History, UiModel } from './model';
import type { ModelSource, ReplayControl } from './top';

/* HH:MM:SS UTC of an ISO time. */
function clockOf(iso: string): string {
  return `${iso.slice(11, 19)} UTC`;
}

export class ReplaySampler implements ModelSource, ReplayControl {
  readonly history = new History();
  baseline: Baseline | null = null;
  readonly replay: ReplayControl = this;
  index: number;
  private last: { snap: Snapshot; prev: Snapshot | null; dtMs: number } | null = null;

  constructor(
    private readonly r: Replay,
    start: number,
    private readonly filter: SiteFilter = {},
  ) {
    this.index = Math.max(0, Math.min(r.length - 1, start));
  }

  private at(i: number): Snapshot {
    return focus(this.r.snapshot(i), this.filter);
  }

  sample(): UiModel {
    const i = this.index;
    const prev = i > 0 ? this.at(i - 1) : null;
    const snap = this.at(i);
    /* Rates over the frame before; the first frame's over its window (since tracing began). */
    const dtMs = prev ? this.r.frames[i].ms - this.r.frames[i - 1].ms : snap.window.durationMs;
    this.last = { snap, prev, dtMs };
    return this.build();
  }

  private build(): UiModel {
    const l = this.last!;
    const f = this.r.frames[this.index];
    const model = buildUiModel(l.snap, l.prev, Math.max(1, l.dtMs), f.mem ?? null, null, this.baseline);
    model.replayAt = `${clockOf(f.t)}, frame ${this.index + 1} of ${this.r.length}`;
    this.history.add(model.sites);
    return model;
  }

  rebase(baseline: Baseline | null): UiModel | null {
    this.baseline = baseline;
    return this.last ? this.build() : null;
  }

  step(n: number): void {
    this.index = Math.max(0, Math.min(this.r.length - 1, this.index + n));
  }

  stepMinutes(n: number): void {
    const t = Date.parse(this.r.frames[this.index].t) + n * 60_000;
    const i = this.r.indexAt(t);
    /* Always move: a minute back from a frame less than a minute after the first is the first. */
    this.index = n < 0 ? Math.min(i, Math.max(0, this.index - 1)) : Math.max(i, Math.min(this.r.length - 1, this.index + 1));
  }

  toEnd(last: boolean): void {
    this.index = last ? this.r.length - 1 : 0;
  }

  jump(time: string): string | null {
    const t = parseTimeIn(time.trim(), this.r.frames[0].t, this.r.frames[this.r.length - 1].t);
    if (t === null) return `"${time}" is not a time: start, end, HH:MM[:SS] (UTC), an ISO time, -5m, +90s`;
    this.index = this.r.indexAt(t);
    return null;
  }

  shownTime(): string {
    return this.r.frames[this.index].t;
  }
}
