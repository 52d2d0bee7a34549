/*
 * Tracing sessions that outlive the command: `kmemtop start` pins the maps,
 * programs and links under bpffs, `snapshot`/`status` read them from any
 * later process, `stop` removes the pins (which detaches the programs).
 * The session's settings live beside, in /run/kmemtop/session.json.
 */
import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { KmemtopError } from './errors';

export const BPFFS = '/sys/fs/bpf';
export const PIN_DIR = process.env.KMEMTOP_PIN_DIR ?? path.join(BPFFS, 'kmemtop');
export const META_FILE = process.env.KMEMTOP_SESSION_FILE ?? '/run/kmemtop/session.json';
const BPF_FS_MAGIC = 0xcafe4a11;

export interface SessionMeta {
  version: 1;
  pid: number;
  startedAt: string;
  startedMonotonicMs: number;
  maxLive: number;
  maxSites: number;
  maxCaches: number;
  catchNested: boolean;
  /* Track 1 object in this many (absent in sessions of older versions: 1). */
  sampleOneIn?: number;
  preemptCountDelta: number;
  /* Programs as pinned under PIN_DIR/progs (and reclaim/progs). */
  programs: { name: string; tracepoint: string }[];
  reclaimPrograms: { name: string; tracepoint: string }[];
  reclaimUnavailable: string | null;
}

/* Mount bpffs on /sys/fs/bpf when it is not (a fresh boot here has none). */
export function ensureBpffs(): void {
  if (fs.existsSync(BPFFS) && fs.statfsSync(BPFFS).type === BPF_FS_MAGIC) return;
  const r = spawnSync('mount', ['-t', 'bpf', 'bpf', BPFFS], { encoding: 'utf8' });
  if (r.status !== 0) throw new KmemtopError(`kmemtop: cannot mount bpffs on ${BPFFS}: ${(r.stderr || '').trim() || 'mount failed'}`);
}

export function readMeta(): SessionMeta | null {
  let text: string;
  try {
    text = fs.readFileSync(META_FILE, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new KmemtopError(`kmemtop: cannot read ${META_FILE}: ${(e as NodeJS.ErrnoException).code}`);
  }
  try {
    return JSON.parse(text) as SessionMeta;
  } catch {
    throw new KmemtopError(`kmemtop: ${META_FILE} is damaged: run kmemtop stop to clear the session`);
  }
}

export function writeMeta(m: SessionMeta): void {
  fs.mkdirSync(path.dirname(META_FILE), { recursive: true });
  fs.writeFileSync(META_FILE, JSON.stringify(m, null, 2) + '\n');
}

/* A session runs when its settings and its pins are both there. */
export function sessionRunning(): SessionMeta | null {
  const m = readMeta();
  return m && fs.existsSync(path.join(PIN_DIR, 'links')) ? m : null;
}

/* Remove every pin (links first, primaries before the *_nested programs, so nothing is lost), then the settings. */
export function removeSession(): boolean {
  let found = false;
  for (const sub of ['links', path.join('reclaim', 'links')]) {
    const dir = path.join(PIN_DIR, sub);
    if (!fs.existsSync(dir)) continue;
    found = true;
    const names = fs.readdirSync(dir).sort((a, b) => Number(a.endsWith('_nested')) - Number(b.endsWith('_nested')));
    for (const n of names) fs.rmSync(path.join(dir, n));
  }
  if (fs.existsSync(PIN_DIR)) {
    found = true;
    fs.rmSync(PIN_DIR, { recursive: true, force: true });
  }
  if (fs.existsSync(META_FILE)) {
    found = true;
    fs.rmSync(META_FILE, { force: true });
  }
  /* The settings directory too, once empty (nothing left behind). */
  try {
    fs.rmdirSync(path.dirname(META_FILE));
  } catch {
    /* absent, or holds something else: leave it */
  }
  return found;
}
