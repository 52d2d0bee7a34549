/*
 * `kmemtop` / `kmemtop top`: the live view (ui/top.ts runs it) over a
 * tracer that is closed, every program detached, however the view ends.
 */
import * as path from 'path';
import { preflightTracer, withTracer } from '../collect/tracer';
import { Kallsyms } from '../sys/kallsyms';
import { KmemtopError } from '../errors';
import { loadReport } from '../output/load';
import { reportBaseline } from '../ui/model';
import { runLiveView, Sampler } from '../ui/top';
import { TopArgs, tracerFlags } from './args';
import { openTimeline } from '../timeline/file';

export async function runTop(a: TopArgs): Promise<number> {
  preflightTracer();
  if (!a.batch && !process.stdout.isTTY) {
    throw new KmemtopError('kmemtop: the live view needs a terminal: use -b (batch mode) when writing to a pipe or file', 2);
  }
  /* --baseline FILE: a saved report, checked before anything is loaded (a bad one is one line, exit 2). */
  const baseline = a.baseline ? reportBaseline(loadReport(a.baseline).sites, `since ${path.basename(a.baseline)}`) : null;
  const syms = Kallsyms.load();
  const timeline = openTimeline(a.timeline);
  try {
    return await withTracer(tracerFlags(a), (tracer) =>
      runLiveView(
        { ...a, baseline },
        new Sampler(tracer, syms, { module: a.module, match: a.match === undefined ? undefined : new RegExp(a.match) }, a.older ?? 0, timeline),
      ),
    );
  } finally {
    timeline?.close();
  }
}
