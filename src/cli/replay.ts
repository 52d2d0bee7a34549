/*
 * `kmemtop replay FILE`: a timeline (--timeline) read back.  The live view
 * over it (arrows step frames); -b one frame, or the growth between two, as
 * top -b prints; --export json every frame as a JSON line.  Nothing is
 * loaded into the kernel: no root needed beyond reading the file.
 */
import { KmemtopError } from '../errors';
import { printable } from '../output/format';
import { checkWritable, writeOutput } from '../output/write';
import { readTimeline } from '../timeline/file';
import { parseTimeIn, Replay } from '../timeline/format';
import { markBaseline } from '../ui/model';
import { ReplaySampler } from '../ui/replay';
import { runLiveView } from '../ui/top';
import { matchRegExp } from './options';
import type { ReplayArgs } from './args';

function frameAt(r: Replay, file: string, flag: string, text: string): number {
  const t = parseTimeIn(text, r.frames[0].t, r.frames[r.length - 1].t);
  if (t === null) {
    throw new KmemtopError(printable(`kmemtop: ${flag} "${text}" is not a time: start, end, HH:MM[:SS] (UTC), an ISO time, -5m or +90s (${file} runs ${r.frames[0].t} to ${r.frames[r.length - 1].t})`), 2);
  }
  return r.indexAt(t);
}

export async function runReplay(a: ReplayArgs): Promise<number> {
  const { replay: r, size, goodBytes } = readTimeline(a.file);
  if (goodBytes < size) process.stderr.write(`kmemtop: ${printable(a.file)}: its last ${size - goodBytes} bytes are not a whole frame (cut short): read up to ${r.frames[r.length - 1].t}\n`);
  if (a.exportJson) {
    checkWritable(a.output);
    const lines: string[] = [];
    for (let i = 0; i < r.length; i++) {
      const f = r.frames[i];
      lines.push(JSON.stringify({ tool: 'kmemtop', kind: 'timeline-frame', t: f.t, ms: f.ms, host: f.host ?? null, mem: f.mem ?? null, snapshot: r.snapshot(i) }));
    }
    writeOutput(lines.join('\n') + '\n', a.output, a.mode);
    return 0;
  }
  if (!a.batch && !process.stdout.isTTY) throw new KmemtopError('kmemtop: replay needs a terminal: use -b (one frame) or --export json when writing to a pipe or file', 2);
  const filter = { module: a.module, match: matchRegExp(a.match) };
  const at = a.at === undefined ? r.length - 1 : frameAt(r, a.file, '--at', a.at);
  const sampler = new ReplaySampler(r, at, filter);
  let baseline = null;
  if (a.since !== undefined) {
    const since = frameAt(r, a.file, '--since', a.since);
    const from = new ReplaySampler(r, since, filter);
    baseline = markBaseline(from.sample(), `since ${r.frames[since].t}`);
  }
  return runLiveView({ intervalMs: 1000, batch: a.batch, iterations: 1, json: a.json, view: a.view, sort: a.sort, filter: a.filter, baseline }, sampler);
}
