/*
 * The timeline file (docs/timeline.md), pure: frames of snapshots over
 * time, appended one at a time, each whole or ignored.
 *
 *   "KMEMTOP-TIMELINE 1\n"                          the header, once
 *   'F' u32le length  u32le crc32  payload          a frame, repeated
 *
 * The payload is deflate-compressed JSON (FramePayload): the snapshot less
 * its sites, and the sites that changed since the frame before (a key
 * frame holds every site).  A frame whose length runs past the end of the
 * file or whose checksum or JSON does not hold ends the file there: a
 * SIGKILL during a write, or a cut copy, loses at most that frame.
 */
import * as zlib from 'zlib';
import type { Snapshot } from '../model/snapshot';
import type { Site } from '../model/site';
import type { MemInfo } from '../sys/meminfo';

export const MAGIC = 'KMEMTOP-TIMELINE 1\n';
export const FRAME_TAG = 0x46; /* 'F' */
export const FRAME_HEAD = 9;
/* A frame larger than this is taken as garbage, not read. */
export const MAX_FRAME_BYTES = 64 << 20;
export const DEFAULT_TIMELINE_INTERVAL_S = 5;

/* A key frame (every site) at least this often, so a file cut from the front can start at one. */
export const KEY_EVERY = 60;

/* A site as a frame keeps it: its splits (stacks, cgroups, tasks) left out. */
export type FrameSite = Omit<Site, 'stacks' | 'otherStacks' | 'cgroups' | 'otherCgroups' | 'tasks' | 'otherTasks'>;

export interface FramePayload {
  /* Wall time of the snapshot, and ms since the recording's first frame. */
  t: string;
  ms: number;
  /* A key frame: sites holds every site; else only those that changed. */
  key: boolean;
  sites: FrameSite[];
  /* The rest of the snapshot, as it was. */
  rest: Omit<Snapshot, 'sites'>;
  /* /proc/meminfo then (the live view's memory line), when read. */
  mem?: MemInfo | null;
  /* The machine recorded. */
  host?: { kernel: string; hostname: string };
}

/* One frame, decoded, and where it lies in the file. */
export interface Frame extends FramePayload {
  offset: number;
  bytes: number;
}

export function siteOfFrame(s: Site): FrameSite {
  const { stacks: _a, otherStacks: _b, cgroups: _c, otherCgroups: _d, tasks: _e, otherTasks: _f, ...rest } = s;
  return rest;
}

/* Did a site change between two frames (what a delta frame carries)? */
export function siteChanged(a: FrameSite | undefined, b: FrameSite): boolean {
  return (
    !a ||
    a.allocs !== b.allocs ||
    a.frees !== b.frees ||
    a.freesUnseen !== b.freesUnseen ||
    a.untrackedAllocs !== b.untrackedAllocs ||
    a.liveObjects !== b.liveObjects ||
    a.liveObjectsEstimate !== b.liveObjectsEstimate ||
    a.liveObjectsUpperBound !== b.liveObjectsUpperBound ||
    a.liveObjectsLowerBound !== b.liveObjectsLowerBound ||
    a.age?.oldestSeconds !== b.age?.oldestSeconds
  );
}

/*
 * Snapshots as successive frames: a key frame first and every keyEvery-th,
 * else the sites that changed since the last frame.
 */
export class FrameEncoder {
  private readonly last = new Map<number, FrameSite>();
  private sinceKey: number;

  constructor(
    private readonly keyEvery = KEY_EVERY,
    /* Wall time of the recording's first frame (FramePayload.ms counts from it); null: the first frame's. */
    private t0: number | null = null,
    private readonly host?: { kernel: string; hostname: string },
  ) {
    this.sinceKey = keyEvery;
  }

  encode(snap: Snapshot, mem: MemInfo | null = null): { bytes: Buffer; key: boolean } {
    const key = this.sinceKey >= this.keyEvery;
    const sites: FrameSite[] = [];
    for (const s of snap.sites) {
      const f = siteOfFrame(s);
      if (key || siteChanged(this.last.get(s.id), f)) sites.push(f);
      this.last.set(s.id, f);
    }
    const { sites: _all, ...rest } = snap;
    this.t0 ??= Date.parse(snap.window.end);
    this.sinceKey = key ? 1 : this.sinceKey + 1;
    return { bytes: encodeFrame({ t: snap.window.end, ms: Date.parse(snap.window.end) - this.t0, key, sites, rest, mem, ...(this.host ? { host: this.host } : {}) }), key };
  }
}

/*
 * The last spanMs of frames, in memory (watch --on-oom's pre-history): key
 * frames every keyEvery, and whole groups from a key frame on dropped once
 * the next group alone covers the span.
 */
export class FrameRing {
  private readonly encoder: FrameEncoder;
  private groups: { at: number; frames: Buffer[] }[] = [];

  constructor(
    readonly spanMs = 15 * 60_000,
    keyEvery = 12,
    host?: { kernel: string; hostname: string },
  ) {
    this.encoder = new FrameEncoder(keyEvery, null, host);
  }

  add(snap: Snapshot, mem: MemInfo | null = null): void {
    const { bytes, key } = this.encoder.encode(snap, mem);
    const at = Date.parse(snap.window.end);
    if (key || this.groups.length === 0) this.groups.push({ at, frames: [] });
    this.groups[this.groups.length - 1].frames.push(bytes);
    while (this.groups.length > 1 && at - this.groups[1].at >= this.spanMs) this.groups.shift();
  }

  /* The frames held, as a timeline file's bytes. */
  fileBytes(): Buffer {
    return Buffer.concat([Buffer.from(MAGIC), ...this.groups.flatMap((g) => g.frames)]);
  }

  replay(): Replay {
    return new Replay(decodeFrames(this.fileBytes())!.frames);
  }
}

export function encodeFrame(p: FramePayload): Buffer {
  const body = zlib.deflateRawSync(Buffer.from(JSON.stringify(p)), { level: 6 });
  const head = Buffer.alloc(FRAME_HEAD);
  head[0] = FRAME_TAG;
  head.writeUInt32LE(body.length, 1);
  head.writeUInt32LE(zlib.crc32(body), 5);
  return Buffer.concat([head, body]);
}

/*
 * Every whole frame of a file's bytes, in order, and where the whole part
 * ends (the length a cut or torn file is good up to); null when the bytes
 * are not a timeline (no header).
 */
export function decodeFrames(buf: Buffer): { frames: Frame[]; goodBytes: number } | null {
  if (buf.length < MAGIC.length || buf.toString('latin1', 0, MAGIC.length) !== MAGIC) return null;
  const frames: Frame[] = [];
  let off = MAGIC.length;
  while (off + FRAME_HEAD <= buf.length) {
    if (buf[off] !== FRAME_TAG) break;
    const len = buf.readUInt32LE(off + 1);
    const crc = buf.readUInt32LE(off + 5);
    if (len > MAX_FRAME_BYTES || off + FRAME_HEAD + len > buf.length) break;
    const body = buf.subarray(off + FRAME_HEAD, off + FRAME_HEAD + len);
    if (zlib.crc32(body) !== crc) break;
    let p: FramePayload;
    try {
      p = JSON.parse(zlib.inflateRawSync(body).toString('utf8')) as FramePayload;
    } catch {
      break;
    }
    if (typeof p.t !== 'string' || !Array.isArray(p.sites) || typeof p.rest !== 'object' || p.rest === null) break;
    frames.push({ ...p, offset: off, bytes: FRAME_HEAD + len });
    off += FRAME_HEAD + len;
  }
  return { frames, goodBytes: off };
}

/*
 * The snapshots of a timeline, one per frame from its first key frame on:
 * each frame's sites applied over the ones before.  Sites are never dropped
 * (a session's sites only gain counts).
 */
export class Replay {
  readonly frames: Frame[];

  constructor(frames: Frame[]) {
    const first = frames.findIndex((f) => f.key);
    this.frames = first < 0 ? [] : frames.slice(first);
  }

  get length(): number {
    return this.frames.length;
  }

  /* The snapshot at frame i (0 <= i < length). */
  snapshot(i: number): Snapshot {
    const sites = this.sitesAt(i);
    return { ...this.frames[i].rest, sites: [...sites.values()] as Site[] };
  }

  private cache: { i: number; sites: Map<number, FrameSite> } | null = null;

  /* Sites at frame i: from the nearest key frame at or before it (or the last one asked, when on the way). */
  private sitesAt(i: number): Map<number, FrameSite> {
    let from: number;
    let sites: Map<number, FrameSite>;
    let k = i;
    while (k > 0 && !this.frames[k].key) k--;
    if (this.cache && this.cache.i <= i && this.cache.i >= k) {
      from = this.cache.i + 1;
      sites = new Map(this.cache.sites);
    } else {
      from = k;
      sites = new Map();
    }
    for (let j = from; j <= i; j++) {
      const f = this.frames[j];
      if (f.key) sites = new Map();
      for (const s of f.sites) sites.set(s.id, s);
    }
    this.cache = { i, sites };
    return sites;
  }

  /* The frame shown at a time: the last at or before it (the first when before them all); -1 when empty. */
  indexAt(time: number): number {
    let lo = 0;
    let hi = this.frames.length - 1;
    if (hi < 0) return -1;
    if (Date.parse(this.frames[0].t) >= time) return 0;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (Date.parse(this.frames[mid].t) <= time) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}

/*
 * "2026-12-05T05:10:00Z", "05:10", "05:10:30" (that day of the recording),
 * "start", "end", "-5m" / "+90s" (from the end / the start): a time within
 * a recording, ms since the epoch; null when it is none of those.  Pure.
 */
export function parseTimeIn(text: string, first: string, last: string): number | null {
  const t0 = Date.parse(first);
  const t1 = Date.parse(last);
  if (text === 'start') return t0;
  if (text === 'end') return t1;
  const rel = /^([+-])(\d+(?:\.\d+)?)(s|m|h)$/.exec(text);
  if (rel) {
    const ms = Number(rel[2]) * { s: 1000, m: 60_000, h: 3_600_000 }[rel[3] as 's' | 'm' | 'h'];
    return rel[1] === '+' ? t0 + ms : t1 - ms;
  }
  const clock = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(text);
  if (clock) {
    const d = new Date(t0);
    d.setUTCHours(Number(clock[1]), Number(clock[2]), Number(clock[3] ?? 0), 0);
    return d.getTime();
  }
  if (/^\d{4}-\d{2}-\d{2}T/.test(text)) {
    const v = Date.parse(text);
    return Number.isNaN(v) ? null : v;
  }
  return null;
}
