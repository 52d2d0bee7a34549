/*
 * Timeline files on disk (format.ts): the writer appends a frame every
 * --timeline-interval seconds, each with one write (a SIGKILL loses at most
 * the frame being written, which readers then ignore), and keeps the file
 * under --timeline-max by dropping its oldest frames (the file is rewritten
 * beside itself from a key frame on, then renamed over it).  Root's files:
 * created 0600 without following a symlink; an existing file is appended to
 * only when it is a timeline (a torn last frame is cut off first).
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Snapshot } from '../model/snapshot';
import type { MemInfo } from '../sys/meminfo';
import { KmemtopError } from '../errors';
import { checkNoPlantedLink, writeAll } from '../sys/safefs';
import { decodeFrames, encodeFrame, FrameEncoder, KEY_EVERY, MAGIC, Replay, siteOfFrame } from './format';

/* A rewrite keeps this share of --timeline-max, so it happens once per quarter of it, not at every frame. */
const KEEP_SHARE = 0.75;

function code(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? (e as Error).message;
}

export interface TimelineOptions {
  intervalMs: number;
  maxBytes: number;
}

export class TimelineWriter {
  private fd: number;
  private size: number;
  private lastAt = -Infinity;
  private readonly encoder: FrameEncoder;
  /* Frames written, and rewrites that dropped old ones. */
  written = 0;
  rewrites = 0;

  private constructor(
    readonly file: string,
    readonly opts: TimelineOptions,
    fd: number,
    size: number,
    t0: number | null,
  ) {
    this.fd = fd;
    this.size = size;
    this.encoder = new FrameEncoder(KEY_EVERY, t0, { kernel: os.release(), hostname: os.hostname() });
  }

  /* Create the file, or go on appending to a timeline already there. */
  static open(file: string, opts: TimelineOptions): TimelineWriter {
    const dir = path.dirname(path.resolve(file));
    checkNoPlantedLink(dir);
    let fd: number;
    try {
      fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_APPEND | fs.constants.O_NOFOLLOW, 0o600);
    } catch (e) {
      throw new KmemtopError(`kmemtop: cannot write the timeline ${file}: ${code(e) === 'ELOOP' ? 'it is a symlink' : code(e)}`);
    }
    try {
      const st = fs.fstatSync(fd);
      if (!st.isFile()) throw new KmemtopError(`kmemtop: the timeline ${file} is not a regular file`);
      if (st.uid !== (process.getuid?.() ?? 0)) throw new KmemtopError(`kmemtop: the timeline ${file} belongs to another user (uid ${st.uid}): refused`);
      if (st.size === 0) {
        writeAll(fd, Buffer.from(MAGIC));
        return new TimelineWriter(file, opts, fd, MAGIC.length, null);
      }
      const buf = fs.readFileSync(file);
      const d = decodeFrames(buf);
      if (!d) throw new KmemtopError(`kmemtop: ${file} exists and is not a kmemtop timeline: refused (give a new file)`);
      if (d.goodBytes < buf.length) fs.ftruncateSync(fd, d.goodBytes); /* a torn last frame */
      const first = d.frames[0];
      const w = new TimelineWriter(file, opts, fd, d.goodBytes, first ? Date.parse(first.t) - first.ms : null);
      /* The interval counts from the file's last frame (a session's readers come and go). */
      const last = d.frames[d.frames.length - 1];
      if (last) w.lastAt = Date.parse(last.t);
      return w;
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
  }

  /* Whether a frame is due (the interval has passed since the last). */
  due(): boolean {
    return Date.now() - this.lastAt >= this.opts.intervalMs;
  }

  /* Write a frame of snap (and /proc/meminfo then) when one is due, or when forced; whether one was written. */
  add(snap: Snapshot, o: { force?: boolean; mem?: MemInfo | null } = {}): boolean {
    const now = Date.now();
    if (!o.force && !this.due()) return false;
    const { bytes } = this.encoder.encode(snap, o.mem ?? null);
    try {
      writeAll(this.fd, bytes);
    } catch (e) {
      throw new KmemtopError(`kmemtop: cannot write the timeline ${this.file}: ${code(e)}`);
    }
    this.size += bytes.length;
    this.lastAt = now;
    this.written++;
    if (this.size > this.opts.maxBytes) this.dropOldest();
    return true;
  }

  /* Over --timeline-max: the newest frames that fit in KEEP_SHARE of it, the first made a key frame, replace the file. */
  private dropOldest(): void {
    const d = decodeFrames(fs.readFileSync(this.file));
    if (!d || d.frames.length < 2) return;
    const replay = new Replay(d.frames);
    const frames = replay.frames;
    const budget = this.opts.maxBytes * KEEP_SHARE - MAGIC.length;
    let keep = frames.length - 1;
    let used = frames[keep].bytes;
    while (keep > 0 && used + frames[keep - 1].bytes <= budget) used += frames[--keep].bytes;
    const snap = replay.snapshot(keep);
    const { sites, ...rest } = snap;
    const head = encodeFrame({ t: frames[keep].t, ms: frames[keep].ms, key: true, sites: sites.map(siteOfFrame), rest, mem: frames[keep].mem ?? null, ...(frames[keep].host ? { host: frames[keep].host } : {}) });
    const buf = fs.readFileSync(this.file);
    const tail = frames.length > keep + 1 ? buf.subarray(frames[keep + 1].offset, d.goodBytes) : Buffer.alloc(0);
    const tmp = path.join(path.dirname(this.file), `.${path.basename(this.file)}.${crypto.randomBytes(6).toString('hex')}`);
    const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
    try {
      writeAll(fd, Buffer.concat([Buffer.from(MAGIC), head, tail]));
      fs.fsyncSync(fd);
    } catch (e) {
      fs.closeSync(fd);
      fs.rmSync(tmp, { force: true });
      throw new KmemtopError(`kmemtop: cannot rewrite the timeline ${this.file}: ${code(e)}`);
    }
    fs.closeSync(fd);
    fs.renameSync(tmp, this.file);
    fs.closeSync(this.fd);
    this.fd = fs.openSync(this.file, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_NOFOLLOW);
    this.size = fs.fstatSync(this.fd).size;
    this.rewrites++;
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

/* A timeline read back: its snapshots, and whether its end was torn (cut off at goodBytes of size). */
export function readTimeline(file: string): { replay: Replay; size: number; goodBytes: number } {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw new KmemtopError(`kmemtop: cannot read ${file}: ${code(e)}`, 2);
  }
  const d = decodeFrames(buf);
  if (!d) throw new KmemtopError(`kmemtop: ${file} is not a kmemtop timeline (record --timeline FILE writes one)`, 2);
  const replay = new Replay(d.frames);
  if (replay.length === 0) throw new KmemtopError(`kmemtop: ${file} holds no whole frame`, 2);
  return { replay, size: buf.length, goodBytes: d.goodBytes };
}

/* --timeline: the writer, or null without the flag. */
export function openTimeline(spec: { file: string; intervalMs: number; maxBytes: number } | undefined): TimelineWriter | null {
  return spec ? TimelineWriter.open(spec.file, spec) : null;
}
