/* Running `kmemtop serve` in tests: a free port, the child, HTTP(S) requests. */
import { ChildProcess, spawn } from 'child_process';
import * as https from 'https';
import * as net from 'net';
import { KMEMTOP } from './bpf';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/* Start `kmemtop serve ARGS`; resolve with the child once it says where it serves (its stderr kept in err()). */
export async function startServe(args: string[]): Promise<{ child: ChildProcess; err: () => string; exited: Promise<number | null> }> {
  const child = spawn(KMEMTOP, ['serve', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  for (let i = 0; i < 200 && !/kmemtop serve: http/.test(err); i++) {
    if (child.exitCode !== null) throw new Error(`serve exited ${child.exitCode}: ${err}`);
    await sleep(50);
  }
  if (!/kmemtop serve: http/.test(err)) throw new Error(`serve did not start: ${err}`);
  return { child, err: () => err, exited };
}

export async function get(url: string, accept?: string): Promise<{ status: number; type: string; body: Buffer }> {
  const r = await fetch(url, { headers: accept ? { Accept: accept } : {} });
  return { status: r.status, type: r.headers.get('content-type') ?? '', body: Buffer.from(await r.arrayBuffer()) };
}


/* A request over TLS with this CA, optionally with basic auth: status, headers and body. */
export function getTls(url: string, ca: string, auth?: string): Promise<{ status: number; type: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca, ...(auth ? { auth } : {}) }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body: Buffer.concat(parts) }));
    });
    req.on('error', reject);
  });
}
