/* Run native/loadgen's "hold" modes: start, wait until ready, always end it. */
import { spawn, ChildProcessByStdio } from 'child_process';
import type { Readable, Writable } from 'stream';
import { LOADGEN } from './bpf';

export type Holder = ChildProcessByStdio<Writable, Readable, null>;

/* Start `loadgen MODE N`, resolve once it printed "ready"; reject on early exit or timeout. */
export async function startHolder(mode: string, n: number, timeoutMs = 30000): Promise<Holder> {
  const child = spawn(LOADGEN, [mode, String(n)], { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`loadgen ${mode} ${n}: not ready after ${timeoutMs} ms`)), timeoutMs);
    child.stdout.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`loadgen ${mode} exited early: ${code}`));
    });
  }).catch((e) => {
    child.kill('SIGKILL');
    throw e;
  });
  return child;
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
