/*
 * Tracing sessions that outlive the command: `kmemtop start` pins the maps,
 * programs and links under bpffs, `snapshot`/`status` read them from any
 * later process, `stop` removes the pins (which detaches the programs).
 * The session's settings live beside, in /run/kmemtop/session.json.
 *
 * Both places are root-only and checked before use (sys/safefs.ts): a
 * symlink or a directory someone else made at the pin path is refused, and
 * `stop` removes only pins it finds by a walk of kmemtop's own directories
 * on bpffs, never following a link.  `stop` clears whatever a session left,
 * even with damaged or missing settings.
 */
import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { KmemtopError } from './errors';
import type { MemInfo } from './sys/meminfo';
import { checkPrivateDir, ensurePrivateDir, privateDirProblem, writeFileSafely } from './sys/safefs';

export const BPFFS = '/sys/fs/bpf';
export const PIN_DIR = process.env.KMEMTOP_PIN_DIR ?? path.join(BPFFS, 'kmemtop');
export const META_FILE = process.env.KMEMTOP_SESSION_FILE ?? '/run/kmemtop/session.json';
const BPF_FS_MAGIC = 0xcafe4a11;

export interface SessionMeta {
  version: 1;
  /* "starting" until every pin is made (absent in sessions of older versions: running). */
  state?: 'starting' | 'running';
  pid: number;
  startedAt: string;
  startedMonotonicMs: number;
  /* /proc/meminfo when tracing began (absent in sessions of older versions). */
  meminfoAtStart?: MemInfo;
  maxLive: number;
  maxSites: number;
  maxCaches: number;
  catchNested: boolean;
  /* Track 1 object in this many (absent in sessions of older versions: 1). */
  sampleOneIn?: number;
  /* --stacks: frames per allocation stack (absent or 0: no stacks). */
  stackDepth?: number;
  /* --by-cgroup, --by-task (absent: off). */
  byCgroup?: boolean;
  byTask?: boolean;
  /* --pages (absent: off). */
  pages?: boolean;
  preemptCountDelta: number;
  /* Programs as pinned under PIN_DIR/progs (and reclaim/progs). */
  programs: { name: string; tracepoint: string }[];
  reclaimPrograms: { name: string; tracepoint: string }[];
  reclaimUnavailable: string | null;
  /* start --timeline: the file the session's readers (snapshot, report, serve) append a frame to when one is due. */
  timeline?: { file: string; intervalMs: number; maxBytes: number };
}

/*
 * Mount bpffs on /sys/fs/bpf when it is not (a fresh boot here has none):
 * mode 0700, so no other user can plant anything in it.
 */
export function ensureBpffs(): void {
  if (fs.existsSync(BPFFS) && fs.statfsSync(BPFFS).type === BPF_FS_MAGIC) return;
  const r = spawnSync('mount', ['-t', 'bpf', '-o', 'mode=0700', 'bpf', BPFFS], { encoding: 'utf8' });
  if (r.status !== 0) throw new KmemtopError(`kmemtop: cannot mount bpffs on ${BPFFS}: ${(r.stderr || '').trim() || 'mount failed'}`);
}

/* Pure: the problem with a parsed session file, or null when it is whole. */
export function metaProblem(m: unknown): string | null {
  if (typeof m !== 'object' || m === null || Array.isArray(m)) return 'not an object';
  const o = m as Record<string, unknown>;
  const int = (k: string) => typeof o[k] === 'number' && Number.isSafeInteger(o[k]) && (o[k] as number) >= 0;
  if (o.version !== 1) return 'version is not 1';
  if (o.state !== undefined && o.state !== 'starting' && o.state !== 'running') return 'state';
  for (const k of ['pid', 'maxLive', 'maxSites', 'maxCaches']) if (!int(k)) return k;
  if (typeof o.startedAt !== 'string' || Number.isNaN(Date.parse(o.startedAt))) return 'startedAt';
  if (typeof o.startedMonotonicMs !== 'number' || !Number.isFinite(o.startedMonotonicMs)) return 'startedMonotonicMs';
  if (typeof o.preemptCountDelta !== 'number' || !Number.isSafeInteger(o.preemptCountDelta)) return 'preemptCountDelta';
  if (typeof o.catchNested !== 'boolean') return 'catchNested';
  if (o.sampleOneIn !== undefined && !int('sampleOneIn')) return 'sampleOneIn';
  if (o.stackDepth !== undefined && !int('stackDepth')) return 'stackDepth';
  for (const k of ['byCgroup', 'byTask', 'pages']) if (o[k] !== undefined && typeof o[k] !== 'boolean') return k;
  if (o.meminfoAtStart !== undefined) {
    const m = o.meminfoAtStart as Record<string, unknown>;
    if (typeof m !== 'object' || m === null || Array.isArray(m) || !Object.values(m).every((v) => typeof v === 'number' && Number.isFinite(v))) return 'meminfoAtStart';
  }
  const progs = (v: unknown) =>
    Array.isArray(v) && v.every((p) => p && typeof p.name === 'string' && /^[A-Za-z0-9_]{1,64}$/.test(p.name) && typeof p.tracepoint === 'string');
  if (!progs(o.programs)) return 'programs';
  if (!progs(o.reclaimPrograms)) return 'reclaimPrograms';
  if (o.reclaimUnavailable !== null && typeof o.reclaimUnavailable !== 'string') return 'reclaimUnavailable';
  return null;
}

/* The settings file: absent (null), whole, or damaged (with what is wrong). */
export type MetaRead = null | { meta: SessionMeta } | { damaged: string };

export function readMetaFile(): MetaRead {
  const dirProblem = privateDirProblem(path.dirname(META_FILE));
  if (dirProblem) return { damaged: `${path.dirname(META_FILE)} ${dirProblem}` };
  let text: string;
  try {
    const l = fs.lstatSync(META_FILE);
    if (!l.isFile()) return { damaged: 'not a regular file' };
    text = fs.readFileSync(META_FILE, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    if ((e as NodeJS.ErrnoException).code === 'EACCES') throw needsRoot();
    return { damaged: `unreadable (${(e as NodeJS.ErrnoException).code})` };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { damaged: text.trim() ? 'not JSON' : 'empty' };
  }
  const problem = metaProblem(parsed);
  return problem ? { damaged: `bad ${problem}` } : { meta: parsed as SessionMeta };
}

function needsRoot(): KmemtopError {
  return new KmemtopError('kmemtop: sessions need root (CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN): run it with sudo');
}

/* The settings of a whole session, or null; a damaged file is an error that says how to clear it. */
export function readMeta(): SessionMeta | null {
  const r = readMetaFile();
  if (r === null) return null;
  if ('damaged' in r) throw new KmemtopError(`kmemtop: ${META_FILE} is damaged (${r.damaged}): kmemtop stop clears the session`);
  return r.meta;
}

export function writeMeta(m: SessionMeta): void {
  ensurePrivateDir(path.dirname(META_FILE));
  writeFileSafely(META_FILE, JSON.stringify(m, null, 2) + '\n', 0o600);
}

function pidAlive(pid: number): boolean {
  return fs.existsSync(`/proc/${pid}`);
}

/*
 * What is there now: nothing; a running session; or what a session left
 * behind (damaged settings, pins without settings, an interrupted start,
 * settings without pins), each with the line status prints.
 */
export type SessionState =
  | { kind: 'none' }
  | { kind: 'running'; meta: SessionMeta }
  | { kind: 'starting'; meta: SessionMeta }
  | { kind: 'broken'; why: string };

export function sessionState(): SessionState {
  const pinProblem = privateDirProblem(PIN_DIR);
  if (pinProblem) return { kind: 'broken', why: `${PIN_DIR} ${pinProblem}: it is not kmemtop's; remove it by hand` };
  const pins = fs.existsSync(PIN_DIR);
  const links = fs.existsSync(path.join(PIN_DIR, 'links'));
  const m = readMetaFile();
  if (m === null) {
    return pins ? { kind: 'broken', why: `pins of a session without settings under ${PIN_DIR} (an interrupted start?): kmemtop stop clears them` } : { kind: 'none' };
  }
  if ('damaged' in m) return { kind: 'broken', why: `${META_FILE} is damaged (${m.damaged}): kmemtop stop clears the session` };
  if (m.meta.state === 'starting') {
    if (pidAlive(m.meta.pid)) return { kind: 'starting', meta: m.meta };
    return { kind: 'broken', why: `a start (pid ${m.meta.pid}) was interrupted and left part of a session: kmemtop stop clears it` };
  }
  if (!links) return { kind: 'broken', why: `settings of a session whose pins are gone: kmemtop stop clears them` };
  return { kind: 'running', meta: m.meta };
}

/*
 * The running session's settings, or null when none is there; what a
 * session left behind (or a start under way) is an error that says how to
 * clear it.
 */
export function sessionRunning(): SessionMeta | null {
  const s = sessionState();
  if (s.kind === 'broken') throw new KmemtopError(`kmemtop: ${s.why}`);
  if (s.kind === 'starting') throw new KmemtopError(`kmemtop: a session is being started (pid ${s.meta.pid}): try again in a moment`);
  return s.kind === 'running' ? s.meta : null;
}

export interface Cleared {
  /* Link pins removed: each detached a program (unless another holder keeps it). */
  links: number;
  /* Other pins (maps, programs) removed. */
  pins: number;
  settings: boolean;
  /* Entries left in place: not kmemtop's (the walk does not know them). */
  leftovers: string[];
}

/* The pin directories, in the order they are emptied: links first (primaries before *_nested), then the rest. */
const LINK_DIRS = ['links', path.join('reclaim', 'links')];
const OTHER_DIRS = ['progs', 'maps', path.join('reclaim', 'progs'), path.join('reclaim', 'maps')];
const DIRS = ['reclaim'];

/*
 * Remove every pin of a kmemtop session and its settings.  The pin
 * directory must be a real, root-owned directory on bpffs; entries are
 * removed with unlink (a link is never followed) only inside the known
 * subdirectories; anything else stays and is reported.
 */
export function removeSession(): Cleared {
  const out: Cleared = { links: 0, pins: 0, settings: false, leftovers: [] };
  if (fs.existsSync(PIN_DIR) || privateDirProblem(PIN_DIR)) {
    checkPrivateDir(PIN_DIR);
    if (fs.statfsSync(PIN_DIR).type !== BPF_FS_MAGIC) throw new KmemtopError(`kmemtop: ${PIN_DIR} is not on bpffs: refusing to remove anything there`);
    const empty = (sub: string, isLink: boolean) => {
      const dir = path.join(PIN_DIR, sub);
      if (!fs.existsSync(dir)) return;
      checkPrivateDir(dir);
      const names = fs.readdirSync(dir).sort((a, b) => Number(a.endsWith('_nested')) - Number(b.endsWith('_nested')) || a.localeCompare(b));
      for (const n of names) {
        const p = path.join(dir, n);
        if (fs.lstatSync(p).isDirectory()) continue;
        fs.unlinkSync(p);
        if (isLink) out.links++;
        else out.pins++;
      }
    };
    for (const d of LINK_DIRS) empty(d, true);
    for (const d of OTHER_DIRS) empty(d, false);
    for (const d of [...LINK_DIRS, ...OTHER_DIRS, ...DIRS, '.']) {
      const dir = path.join(PIN_DIR, d);
      if (!fs.existsSync(dir)) continue;
      try {
        fs.rmdirSync(dir);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOTEMPTY') throw e;
        if (d === '.') out.leftovers.push(...fs.readdirSync(dir).map((n) => path.join(dir, n)));
      }
    }
  }
  const metaDir = path.dirname(META_FILE);
  if (fs.existsSync(META_FILE) || fs.existsSync(metaDir)) {
    const problem = privateDirProblem(metaDir);
    if (problem) throw new KmemtopError(`kmemtop: ${metaDir} ${problem}: refusing to remove anything there`);
    try {
      fs.unlinkSync(META_FILE);
      out.settings = true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    /* The settings directory too, once empty (nothing left behind). */
    try {
      fs.rmdirSync(metaDir);
    } catch {
      /* absent, or holds something else: leave it */
    }
  }
  return out;
}

/* Pin directories for a session being started (root-only, refused if someone else made them). */
export function makePinDirs(dir: string): void {
  ensurePrivateDir(dir);
  for (const sub of ['maps', 'progs', 'links']) ensurePrivateDir(path.join(dir, sub));
}
