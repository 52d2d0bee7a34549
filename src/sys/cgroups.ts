/*
 * Memory cgroups: where the memory controller's hierarchy is mounted (cgroup
 * v1 "memory", or the v2 unified hierarchy when the controller lives there),
 * and the path of a cgroup from the id the BPF programs record (the kernfs
 * id of its directory, which is the directory's inode number on 64-bit).
 */
import * as fs from 'fs';
import * as path from 'path';

export interface MemcgMount {
  /* Mount point of the hierarchy. */
  dir: string;
  version: 1 | 2;
}

/*
 * Pure: the memory controller's hierarchy from /proc/self/mountinfo text.
 * v1: a "cgroup" mount whose super options name memory; v2: a "cgroup2"
 * mount, when controllersOf(dir) lists memory (a v1 memory mount wins: the
 * controller is then bound to v1, and v2 has no memory figures).
 */
export function findMemcgMount(mountinfo: string, controllersOf: (dir: string) => string[]): MemcgMount | null {
  let v2: string | null = null;
  for (const line of mountinfo.split('\n')) {
    const dash = line.indexOf(' - ');
    if (dash < 0) continue;
    const pre = line.slice(0, dash).split(' ');
    const post = line.slice(dash + 3).split(' ');
    const dir = unescapeMount(pre[4] ?? '');
    const [fstype, , superOpts = ''] = post;
    if (fstype === 'cgroup' && superOpts.split(',').includes('memory')) return { dir, version: 1 };
    if (fstype === 'cgroup2' && v2 === null && controllersOf(dir).includes('memory')) v2 = dir;
  }
  return v2 ? { dir: v2, version: 2 } : null;
}

/* mountinfo escapes space, tab, newline and backslash as octal. */
function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
}

function controllers(dir: string): string[] {
  try {
    return fs.readFileSync(path.join(dir, 'cgroup.controllers'), 'utf8').trim().split(/\s+/);
  } catch {
    return [];
  }
}

export function memcgMount(): MemcgMount | null {
  try {
    return findMemcgMount(fs.readFileSync('/proc/self/mountinfo', 'utf8'), controllers);
  } catch {
    return null;
  }
}

/* At most this many directories are walked to name cgroups (a bound on the work, not on correctness: the rest stay unnamed). */
const MAX_WALK = 200_000;

/*
 * Cgroup ids to paths ("/" for the root, "/a/b" below it), learnt by walking
 * the hierarchy's directories (never following a symlink).  An id not found
 * triggers one new walk per read at most (a cgroup created since); an id
 * still not found belongs to a cgroup removed since (or to none).
 */
export class CgroupPaths {
  private readonly paths = new Map<bigint, string>();
  private walkedAt = -1;

  constructor(
    readonly mount: MemcgMount | null = memcgMount(),
  ) {}

  /* generation: the caller's read counter (one walk per generation at most). */
  pathOf(id: bigint, generation: number): string | null {
    if (id === 0n || !this.mount) return null;
    let p = this.paths.get(id);
    if (p === undefined && this.walkedAt !== generation) {
      this.walkedAt = generation;
      this.walk();
      p = this.paths.get(id);
    }
    return p ?? null;
  }

  private walk(): void {
    const root = this.mount!.dir;
    const stack = ['/'];
    let seen = 0;
    while (stack.length && seen < MAX_WALK) {
      const rel = stack.pop()!;
      const abs = path.join(root, rel);
      let st: fs.BigIntStats;
      let entries: fs.Dirent[];
      try {
        st = fs.lstatSync(abs, { bigint: true });
        entries = fs.readdirSync(abs, { withFileTypes: true });
      } catch {
        continue; /* removed meanwhile */
      }
      seen++;
      this.paths.set(st.ino, rel);
      for (const e of entries) if (e.isDirectory()) stack.push(path.posix.join(rel, e.name));
    }
  }
}

/* A memory cgroup's limit, usage and what its memory is (bytes; null where the hierarchy has no such file). */
export interface MemcgFigures {
  /* null: no limit */
  limitBytes: number | null;
  usageBytes: number | null;
  /* Kernel memory charged to it (v1 memory.kmem.usage_in_bytes; v2 memory.stat kernel). */
  kmemBytes: number | null;
  anonBytes: number | null;
  fileBytes: number | null;
}

function readNumber(file: string): number | null {
  try {
    const t = fs.readFileSync(file, 'utf8').trim();
    if (t === 'max') return null;
    const n = Number(t);
    return Number.isFinite(n) ? n : null;
  } catch {
    return null;
  }
}

function readStat(file: string): Map<string, number> {
  const out = new Map<string, number>();
  try {
    for (const l of fs.readFileSync(file, 'utf8').split('\n')) {
      const [k, v] = l.split(' ');
      if (k && v !== undefined) out.set(k, Number(v));
    }
  } catch {
    /* gone */
  }
  return out;
}

/* The figures of the cgroup at path (relative to the hierarchy, "/a/b"); null when it is gone. */
export function readMemcgFigures(mount: MemcgMount, rel: string): MemcgFigures | null {
  const dir = path.join(mount.dir, rel);
  if (!fs.existsSync(dir)) return null;
  const stat = readStat(path.join(dir, 'memory.stat'));
  const get = (k: string) => stat.get(k) ?? null;
  if (mount.version === 1) {
    const limit = readNumber(path.join(dir, 'memory.limit_in_bytes'));
    return {
      /* v1 says "no limit" with a huge number (PAGE_COUNTER_MAX pages). */
      limitBytes: limit !== null && limit < 2 ** 62 ? limit : null,
      usageBytes: readNumber(path.join(dir, 'memory.usage_in_bytes')),
      kmemBytes: readNumber(path.join(dir, 'memory.kmem.usage_in_bytes')),
      anonBytes: get('rss'),
      fileBytes: get('cache'),
    };
  }
  return {
    limitBytes: readNumber(path.join(dir, 'memory.max')),
    usageBytes: readNumber(path.join(dir, 'memory.current')),
    kmemBytes: get('kernel'),
    anonBytes: get('anon'),
    fileBytes: get('file'),
  };
}
