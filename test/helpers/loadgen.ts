/* Run native/loadgen's "hold" modes: start, wait until ready, always end it. */
import { spawn, ChildProcessByStdio } from 'child_process';
import type { Readable, Writable } from 'stream';
import { LOADGEN } from './bpf';

export type Holder = ChildProcessByStdio<Writable, Readable, null>;

/* Resolve once the child printed word; reject on early exit or timeout (and kill it). */
async function awaitWord(child: Holder, word: string, what: string, timeoutMs: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: no "${word}" after ${timeoutMs} ms`)), timeoutMs);
    const onData = (d: Buffer) => {
      if (d.toString().includes(word)) {
        clearTimeout(timer);
        child.stdout.off('data', onData);
        child.off('exit', onExit);
        resolve();
      }
    };
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited early: ${code}`));
    };
    child.stdout.on('data', onData);
    child.once('exit', onExit);
  }).catch((e) => {
    child.kill('SIGKILL');
    throw e;
  });
}

/*
 * Start `loadgen MODE N`, resolve once it printed "ready"; reject on early
 * exit or timeout.  wrap: runs it through another argv (e.g. into a cgroup).
 */
export async function startHolder(mode: string, n: number, timeoutMs = 30000, wrap: (argv: string[]) => string[] = (a) => a): Promise<Holder> {
  const [cmd, ...args] = wrap([LOADGEN, mode, String(n)]);
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  await awaitWord(child, 'ready', `loadgen ${mode} ${n}`, timeoutMs);
  return child;
}

/*
 * Start `loadgen MODE N` held back (LOADGEN_WAIT=1): the process and its
 * pipes (UNIX sockets, to node) exist, its allocations not yet.  go() lets
 * it run and resolves once it is ready.
 */
export async function startHeldBack(mode: string, n: number, timeoutMs = 30000): Promise<{ holder: Holder; go: () => Promise<void> }> {
  const child = spawn(LOADGEN, [mode, String(n)], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, LOADGEN_WAIT: '1' } });
  await awaitWord(child, 'waiting', `loadgen ${mode} ${n}`, timeoutMs);
  return {
    holder: child,
    go: async () => {
      const ready = awaitWord(child, 'ready', `loadgen ${mode} ${n}`, timeoutMs);
      child.stdin.write('go\n');
      await ready;
    },
  };
}

/* Let the holder exit normally (stdin EOF) and wait for it. */
export async function releaseHolder(h: Holder): Promise<void> {
  if (h.exitCode !== null || h.signalCode !== null) return;
  const exited = new Promise((resolve) => h.once('exit', resolve));
  h.stdin.end();
  await exited;
}

/* Make sure the holder is gone, whatever happened (for finally blocks). */
export async function killHolder(h: Holder | null): Promise<void> {
  if (!h || h.exitCode !== null || h.signalCode !== null) return;
  const exited = new Promise((resolve) => h.once('exit', resolve));
  h.kill('SIGKILL');
  await exited;
}
