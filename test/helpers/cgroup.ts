/*
 * A memory cgroup of the tests' own (cgroup v1 here, v2 where that is what the
 * machine has), with a limit, to cause real reclaim and real OOM kills.
 * Always removed again: processes in it are killed first.
 */
import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';

const V1 = '/sys/fs/cgroup/memory';
const V2 = '/sys/fs/cgroup';

export class MemCgroup {
  readonly dir: string;
  private readonly v2: boolean;

  constructor(name: string, limitBytes: number) {
    this.v2 = !fs.existsSync(path.join(V1, 'memory.limit_in_bytes'));
    this.dir = path.join(this.v2 ? V2 : V1, `${name}-${process.pid}`);
    fs.mkdirSync(this.dir);
    if (this.v2) {
      fs.writeFileSync(path.join(this.dir, 'memory.max'), String(limitBytes));
      fs.writeFileSync(path.join(this.dir, 'memory.swap.max'), '0');
    } else {
      fs.writeFileSync(path.join(this.dir, 'memory.limit_in_bytes'), String(limitBytes));
    }
  }

  /* argv that runs cmd inside the cgroup. */
  wrap(cmd: string[]): string[] {
    const quoted = cmd.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    return ['sh', '-c', `echo $$ > ${this.dir}/cgroup.procs && exec ${quoted}`];
  }

  /* Run a shell script inside the cgroup, wait for it. */
  run(script: string): { status: number | null; signal: NodeJS.Signals | null } {
    const r = spawnSync('sh', ['-c', `echo $$ > ${this.dir}/cgroup.procs && ${script}`], { stdio: 'ignore' });
    return { status: r.status, signal: r.signal };
  }

  pids(): number[] {
    return fs
      .readFileSync(path.join(this.dir, 'cgroup.procs'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map(Number);
  }

  /* Kill what is left in it and remove it. */
  remove(): void {
    if (!fs.existsSync(this.dir)) return;
    for (let i = 0; i < 50; i++) {
      const pids = this.pids();
      if (pids.length === 0) break;
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e; /* ESRCH: already gone */
        }
      }
      spawnSync('sleep', ['0.1']);
    }
    fs.rmdirSync(this.dir);
  }
}
