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
