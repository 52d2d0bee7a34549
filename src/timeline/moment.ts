/*
 * FILE@TIME: one moment of a timeline as a report document, so that diff
 * compares two moments of one recording as it compares two reports
 * (`kmemtop diff run.kmt@start run.kmt@end`).
 */
import * as fs from 'fs';
import { loadReport } from '../output/load';
import { ReportDocument, toDocument } from '../output/report';
import { KmemtopError } from '../errors';
import { printable } from '../output/format';
import { parseTimeIn } from './format';
import { readTimeline } from './file';

/* "run.kmt@05:10" -> the file and the time; null when spec names no such file (then it is a report's name). */
export function momentSpec(spec: string): { file: string; time: string } | null {
  const at = spec.lastIndexOf('@');
  if (at <= 0 || fs.existsSync(spec)) return null;
  const file = spec.slice(0, at);
  return fs.existsSync(file) ? { file, time: spec.slice(at + 1) } : null;
}

/* The report a file or FILE@TIME gives. */
export function loadReportOrMoment(spec: string): ReportDocument {
  const m = momentSpec(spec);
  if (!m) return loadReport(spec);
  const { replay } = readTimeline(m.file);
  const first = replay.frames[0].t;
  const last = replay.frames[replay.length - 1].t;
  const t = parseTimeIn(m.time, first, last);
  if (t === null) throw new KmemtopError(printable(`kmemtop: ${spec}: "${m.time}" is not a time: start, end, HH:MM[:SS], an ISO time, -5m or +90s (the recording runs ${first} to ${last})`), 2);
  const i = replay.indexAt(t);
  const f = replay.frames[i];
  return toDocument(replay.snapshot(i), { kind: 'snapshot', kernel: f.host?.kernel ?? 'unknown', hostname: f.host?.hostname ?? 'unknown' }, { sort: 'liveBytes', top: 0 });
}
