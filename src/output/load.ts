/*
 * Reading a report written by `record`/`snapshot --json` back, for `diff`.
 * A missing, truncated, foreign or newer file is one line and exit code 2.
 */
import * as fs from 'fs';
import { KmemtopError } from '../errors';
import { SCHEMA_VERSION } from '../model/snapshot';
import type { ReportDocument } from './report';

function bad(file: string, why: string): KmemtopError {
  return new KmemtopError(`kmemtop: ${file}: ${why}`, 2);
}

/* Check a parsed document (pure). */
export function checkReport(file: string, doc: unknown): ReportDocument {
  if (typeof doc !== 'object' || doc === null || (doc as { tool?: unknown }).tool !== 'kmemtop') {
    throw bad(file, 'not a kmemtop report (write one with kmemtop snapshot --json or record --json)');
  }
  const d = doc as Partial<ReportDocument>;
  if (typeof d.schemaVersion !== 'number') throw bad(file, 'not a kmemtop report: no schemaVersion');
  if (d.schemaVersion > SCHEMA_VERSION) {
    throw bad(file, `schema version ${d.schemaVersion} is newer than this kmemtop reads (${SCHEMA_VERSION}): update kmemtop`);
  }
  if (!Array.isArray(d.sites) || !d.totals || typeof d.kernel !== 'string' || !d.window) {
    throw bad(file, 'incomplete kmemtop report (sites, totals, kernel or window missing)');
  }
  for (const s of d.sites) {
    if (typeof s?.function !== 'string' || typeof s.liveBytes !== 'number' || typeof s.liveObjects !== 'number' || typeof s.allocs !== 'number' || typeof s.cache !== 'string') {
      throw bad(file, 'incomplete kmemtop report (a site lacks function, cache, liveBytes, liveObjects or allocs)');
    }
  }
  return d as ReportDocument;
}

export function loadReport(file: string): ReportDocument {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw bad(file, `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw bad(file, `not a kmemtop report (${text.trim() ? 'invalid or truncated JSON' : 'empty file'})`);
  }
  return checkReport(file, doc);
}
