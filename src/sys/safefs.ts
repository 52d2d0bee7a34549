/*
 * Files written and removed as root on a shared machine.  Another user
 * can plant a symlink wherever a directory is writable by others (/tmp, a
 * plainly mounted /sys/fs/bpf), and fs.protected_symlinks may be off.  So:
 *  - a file is written through a temporary created exclusively, with
 *    O_NOFOLLOW and an unpredictable name, in the target's directory, then
 *    renamed over the target (a rename replaces a symlink, never follows
 *    it); mode 0600 unless asked otherwise;
 *  - an existing special file (a device, a FIFO: /dev/null, /dev/stdout) is
 *    written in place, but a symlink is followed to one only when nobody
 *    else could have put it there (its directory is root-owned and not
 *    writable by others);
 *  - a directory kmemtop keeps state in must be a real directory owned by
 *    root and writable by nobody else, or it is refused.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { KmemtopError } from '../errors';

export const DEFAULT_FILE_MODE = 0o600;

/* Pure: may a symlink in a directory with this owner and mode be trusted (nobody but root could have made it)? */
export function trustedDir(st: { uid: number; mode: number }): boolean {
  return st.uid === 0 && (st.mode & 0o022) === 0;
}

function errCode(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? (e as Error).message;
}

/*
 * An existing file written in place: a device or FIFO, reached without an
 * untrusted symlink, owned by root, in a directory only root can write;
 * else null (a regular file or nothing: replaced).  Another user's FIFO or
 * device, or one in a directory others can write, is refused: it would
 * hand the report to that user, or hang kmemtop until someone reads.
 */
function specialTarget(file: string): string | null {
  let l: fs.Stats;
  try {
    l = fs.lstatSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new KmemtopError(`kmemtop: cannot write ${file}: ${errCode(e)}`);
  }
  let target = file;
  let st = l;
  if (l.isSymbolicLink()) {
    if (!trustedDir(fs.statSync(path.dirname(path.resolve(file))))) return null; /* replaced, not followed */
    try {
      st = fs.statSync(file);
    } catch {
      return null; /* dangling: replaced */
    }
    if (st.isFile() || st.isDirectory()) return null;
    target = fs.realpathSync(file);
  }
  if (st.isFile() || st.isDirectory()) return null;
  const what = st.isFIFO() ? 'a FIFO' : st.isCharacterDevice() ? 'a character device' : st.isBlockDevice() ? 'a block device' : st.isSocket() ? 'a socket' : 'a special file';
  if (st.isSocket()) throw new KmemtopError(`kmemtop: refusing to write ${file}: it is ${what}`);
  if (st.uid !== 0) throw new KmemtopError(`kmemtop: refusing to write ${file}: it is ${what} owned by uid ${st.uid}, not root`);
  if (!trustedDir(fs.statSync(path.dirname(target)))) throw new KmemtopError(`kmemtop: refusing to write ${file}: it is ${what} in a directory others can write`);
  return target;
}

/* Write all of buf to fd (a short write is not the end); on a non-blocking FIFO, wait out a full pipe (up to 10 s). */
export function writeAll(fd: number, buf: Uint8Array): void {
  let off = 0;
  let waitedMs = 0;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  while (off < buf.length) {
    try {
      off += fs.writeSync(fd, buf, off, buf.length - off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN' || waitedMs >= 10_000) throw e;
      Atomics.wait(pause, 0, 0, 10);
      waitedMs += 10;
    }
  }
}

/*
 * The first component of dir's path that is a symlink someone other than
 * root could have planted (it lies in a directory others can write), or
 * null.  Such a link could send what kmemtop writes anywhere.
 */
export function untrustedLink(dir: string): string | null {
  const parts = path.resolve(dir).split(path.sep).filter(Boolean);
  let cur: string = path.sep;
  for (const part of parts) {
    const next = path.join(cur, part);
    let l: fs.Stats;
    try {
      l = fs.lstatSync(next);
    } catch {
      return null; /* does not exist (yet): nothing to follow */
    }
    if (l.isSymbolicLink() && !trustedDir(fs.statSync(cur))) return next;
    cur = l.isSymbolicLink() ? fs.realpathSync(next) : next;
  }
  return null;
}

/* Refuse to write under dir when a planted symlink leads there. */
export function checkNoPlantedLink(dir: string): void {
  const link = untrustedLink(dir);
  if (link) throw new KmemtopError(`kmemtop: ${link} is a symlink in a directory others can write: refusing to write through it`);
}

/*
 * Write text to file safely (see above); mode applies to a file created
 * here.  Errors are one line naming the file.
 */
export function writeFileSafely(file: string, content: string | Uint8Array, mode = DEFAULT_FILE_MODE): void {
  const text = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  checkNoPlantedLink(path.dirname(path.resolve(file)));
  const special = specialTarget(file);
  if (special) {
    let fd = -1;
    try {
      /* Non-blocking: a FIFO nobody reads is an error (ENXIO), never a hang. */
      fd = fs.openSync(special, fs.constants.O_WRONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NOCTTY | fs.constants.O_NONBLOCK);
      writeAll(fd, text);
    } catch (e) {
      const code = errCode(e);
      throw new KmemtopError(`kmemtop: cannot write ${file}: ${code === 'ENXIO' ? 'a FIFO with no reader' : code}`);
    } finally {
      if (fd >= 0) fs.closeSync(fd);
    }
    return;
  }
  const dir = path.dirname(path.resolve(file));
  const tmp = path.join(dir, `.${path.basename(file)}.${crypto.randomBytes(12).toString('hex')}.tmp`);
  let fd = -1;
  try {
    fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, mode);
    fs.fchmodSync(fd, mode); /* whatever the umask */
    writeAll(fd, text); /* a full disk throws here: the temporary goes, the old file stays */
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = -1;
    fs.renameSync(tmp, file);
  } catch (e) {
    if (fd >= 0) fs.closeSync(fd);
    try {
      fs.unlinkSync(tmp);
    } catch {
      /* not created, or already renamed */
    }
    throw new KmemtopError(`kmemtop: cannot write ${file}: ${errCode(e)}`);
  }
}

/*
 * A directory for root-only state: create it (0700) if absent; refuse it,
 * in one line, when it is a symlink, not a directory, not owned by root,
 * or writable by others.  The parent must already exist.
 */
export function ensurePrivateDir(dir: string): void {
  try {
    fs.mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new KmemtopError(`kmemtop: cannot create ${dir}: ${errCode(e)}`);
  }
  checkPrivateDir(dir);
}

/* Refuse dir unless it is a real directory owned by root and writable by nobody else. */
export function checkPrivateDir(dir: string): void {
  const why = privateDirProblem(dir);
  if (why) throw new KmemtopError(`kmemtop: ${dir} ${why}: refusing to use it (it is not kmemtop's; remove it)`);
}

/* Why dir cannot hold kmemtop's state, or null (also null when absent). */
export function privateDirProblem(dir: string): string | null {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    return `cannot be checked (${errCode(e)})`;
  }
  if (st.isSymbolicLink()) return 'is a symlink';
  if (!st.isDirectory()) return 'is not a directory';
  if (st.uid !== process.geteuid!()) return `is owned by uid ${st.uid}, not ${process.geteuid!()}`;
  if (st.mode & 0o022) return `is writable by others (mode ${(st.mode & 0o7777).toString(8)})`;
  return null;
}

/* --mode: an octal file mode such as 600 or 0644 (pure); null when not one. */
export function parseMode(text: string): number | null {
  if (!/^0?[0-7]{3}$/.test(text)) return null;
  return parseInt(text, 8);
}
