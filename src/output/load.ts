/*
 * Reading a report written by `record`/`snapshot --json` back, for `diff`.
 * A missing, truncated, foreign or newer file is one line and exit code 2.
 */
import * as fs from 'fs';
import { KmemtopError } from '../errors';
import { LIVE_LOSSES, SCHEMA_VERSION } from '../model/snapshot';
import type { ReportDocument } from './report';
import { printable } from './format';

function bad(file: string, why: string): KmemtopError {
  return new KmemtopError(printable(`kmemtop: ${file}: ${why}`), 2);
}

/* Largest magnitude a count or byte figure may have: what a double holds exactly. */
const MAX = Number.MAX_SAFE_INTEGER;
const MAX_NAME = 512;

/* The first problem of a value against what kmemtop writes, naming the field; null when fine. */
type Check = (v: unknown, at: string) => string | null;
const wholeNumber: Check = (v, at) => (typeof v === 'number' && Number.isSafeInteger(v) && Math.abs(v) <= MAX ? null : `${at} is not a whole number within +/-2^53`);
/* A count: losses are never negative (a negative one would make a gate look exact). */
const counted: Check = (v, at) => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? null : `${at} is not a count (a whole number >= 0)`);
const name: Check = (v, at) => (typeof v === 'string' && v.length <= MAX_NAME ? null : `${at} is not a name (a string of at most ${MAX_NAME} characters)`);
const orNull =
  (c: Check): Check =>
  (v, at) =>
    v === null ? null : c(v, at);
const optional =
  (c: Check): Check =>
  (v, at) =>
    v === undefined ? null : c(v, at);
const names: Check = (v, at) => {
  if (!Array.isArray(v) || v.length > 4096) return `${at} is not a list of names`;
  for (let i = 0; i < v.length; i++) {
    const p = name(v[i], `${at}[${i}]`);
    if (p) return p;
  }
  return null;
};
const bool: Check = (v, at) => (typeof v === 'boolean' ? null : `${at} is not true or false`);
/* A time as kmemtop writes it (ISO 8601); shown as it is, so any short string passes. */
const time: Check = (v, at) => (typeof v === 'string' && v.length <= 64 ? null : `${at} is not a time (a string)`);

function fields(o: unknown, at: string, spec: Record<string, Check>): string | null {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return `${at} is not an object`;
  for (const [k, c] of Object.entries(spec)) {
    const p = c((o as Record<string, unknown>)[k], `${at}.${k}`);
    if (p) return p;
  }
  return null;
}

const STACK: Record<string, Check> = {
  frames: names,
  liveBytes: wholeNumber,
  liveObjects: wholeNumber,
  allocs: wholeNumber,
};

/* A site's stacks (--stacks): a list of STACK entries. */
const stacks: Check = (v, at) => {
  if (!Array.isArray(v) || v.length > 4096) return `${at} is not a list of stacks`;
  for (let i = 0; i < v.length; i++) {
    const p = fields(v[i], `${at}[${i}]`, STACK);
    if (p) return p;
  }
  return null;
};

const SITE: Record<string, Check> = {
  function: name,
  module: orNull(name),
  cache: name,
  liveBytes: wholeNumber,
  liveObjects: wholeNumber,
  allocs: wholeNumber,
  objectSize: optional(wholeNumber),
  cacheAliases: optional(names),
  cacheReclaimable: optional(bool),
  stacks: optional(stacks),
};

const CACHE: Record<string, Check> = {
  cache: name,
  trackedLiveObjects: wholeNumber,
  slabActiveObjects: wholeNumber,
  slabTotalObjects: wholeNumber,
  phantomObjects: wholeNumber,
};

/*
 * The first problem of a parsed document as a kmemtop report, naming the
 * field (pure).  What diff reads is checked: types, ranges, lengths.
 */
export function reportProblem(doc: unknown): string | null {
  if (typeof doc !== 'object' || doc === null || (doc as { tool?: unknown }).tool !== 'kmemtop') {
    return 'not a kmemtop report (write one with kmemtop snapshot --json or record --json)';
  }
  const d = doc as Record<string, unknown>;
  if (typeof d.schemaVersion !== 'number') return 'not a kmemtop report: no schemaVersion';
  if (d.schemaVersion > SCHEMA_VERSION) return `schema version ${d.schemaVersion} is newer than this kmemtop reads (${SCHEMA_VERSION}): update kmemtop`;
  if (!Array.isArray(d.sites) || !d.totals || typeof d.kernel !== 'string' || !d.window) {
    return 'incomplete kmemtop report (sites, totals, kernel or window missing)';
  }
  const top =
    fields(d, 'report', { kernel: name, hostname: optional(name) }) ??
    fields(d.window, 'window', { end: time, durationMs: optional(wholeNumber) }) ??
    fields(d.totals, 'totals', { sites: wholeNumber, phantomObjects: optional(wholeNumber) });
  if (top) return top;
  if (d.accuracy !== undefined) {
    const p = fields(d.accuracy, 'accuracy', {
      approximate: optional(bool),
      maxLiveObjectsError: optional(wholeNumber),
      phantomObjects: optional(wholeNumber),
      upperBoundSites: optional(wholeNumber),
    });
    if (p) return p;
  }
  if (d.lost !== undefined) {
    const p = fields(d.lost, 'lost', Object.fromEntries(LIVE_LOSSES.map((x) => [x.key, optional(counted)])));
    if (p) return p;
  }
  if (d.session !== undefined) {
    const p = fields(d.session, 'session', { startedAt: time });
    if (p) return p;
  }
  if (d.caches !== undefined && d.caches !== null) {
    if (!Array.isArray(d.caches)) return 'caches is not a list';
    for (let i = 0; i < d.caches.length; i++) {
      const p = fields(d.caches[i], `caches[${i}]`, CACHE);
      if (p) return p;
    }
  }
  for (let i = 0; i < d.sites.length; i++) {
    const p = fields(d.sites[i], `sites[${i}]`, SITE);
    if (p) return p;
  }
  return null;
}

/* Check a parsed document (pure): the report, or a one-line error (exit 2) naming the bad field. */
export function checkReport(file: string, doc: unknown): ReportDocument {
  const problem = reportProblem(doc);
  if (problem) {
    if (/^(not a kmemtop report|schema version|incomplete)/.test(problem)) throw bad(file, problem);
    throw bad(file, `not a valid kmemtop report: ${problem}`);
  }
  return doc as ReportDocument;
}

/* Larger than any report kmemtop writes (4M sites), and under what a JavaScript string can hold. */
const MAX_FILE_BYTES = 400 << 20;

export function loadReport(file: string): ReportDocument {
  let text: string;
  try {
    if (fs.statSync(file).size > MAX_FILE_BYTES) throw bad(file, `larger than ${MAX_FILE_BYTES >> 20} MiB: not a kmemtop report`);
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if (e instanceof KmemtopError) throw e;
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
