/*
 * The flight recorder on the real kernel: record --timeline of a workload
 * that leaks 1000 eventfds every 2 s, SIGKILLed halfway, read back frame by
 * frame; diff of two moments of it as a CI gate; the file cut at a random
 * byte; --timeline-max; the replay's keys in tmux; and watch --on-oom's
 * pre-history of a memory-cgroup OOM.  Needs root and BPF.
 */
import { ChildProcess, execFileSync, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { assertBpfUsable, describeBpf, KMEMTOP, kmemtopProgIds, kmemtopProgIdsSettled, LOADGEN } from './helpers/bpf';
import { killHolder, startHolder } from './helpers/loadgen';
import { MemCgroup } from './helpers/cgroup';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const run = (...args: string[]) => spawnSync(KMEMTOP, args, { encoding: 'utf8' });

interface FrameLine {
  t: string;
  ms: number;
  snapshot: { sites: { function: string; liveObjects: number }[] };
}

describeBpf('real kernel: the flight recorder', () => {
  let dir: string;
  let progsBefore: number[] = [];
  /* Process groups started here (detached), ended by their leader's pid. */
  const started: ChildProcess[] = [];

  beforeAll(() => {
    assertBpfUsable();
    progsBefore = kmemtopProgIds();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kmemtop-recorder-'));
  });
  afterAll(() => {
    for (const c of started) {
      try {
        if (c.pid) process.kill(-c.pid, 'SIGKILL');
      } catch {
        /* gone already */
      }
    }
    spawnSync('tmux', ['-L', `kmemtop-rec-${process.pid}`, 'kill-server']);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const file = () => path.join(dir, 'leak.kmt');

  it('record --timeline of a leak of 1000 eventfds every 2 s, SIGKILLed halfway: every frame up to the kill, do_eventfd growing ~1000 per 2 s; diff of two moments gates it', async () => {
    const script = path.join(dir, 'leak.sh');
    fs.writeFileSync(script, `#!/bin/sh\nfor i in 1 2 3 4 5 6 7 8 9 10; do\n  sleep 60 | ${LOADGEN} eventfd-hold 1000 > /dev/null &\n  sleep 2\ndone\nwait\n`, { mode: 0o755 });
    /* Its own process group, so the leak's holders go with it. */
    const rec = spawn(KMEMTOP, ['record', '--timeline', file(), '--timeline-interval', '1', '--', script], { stdio: 'ignore', detached: true });
    started.push(rec);
    const exited = new Promise((r) => rec.once('exit', r));
    await sleep(11_000);
    process.kill(rec.pid!, 'SIGKILL');
    await exited;
    try {
      process.kill(-rec.pid!, 'SIGKILL'); /* the leak's holders */
    } catch {
      /* gone already */
    }
    expect(await kmemtopProgIdsSettled(progsBefore)).toEqual(progsBefore);

    const exp = run('replay', '--export', 'json', file());
    expect([exp.status, exp.stderr]).toEqual([0, '']);
    const frames = exp.stdout.trim().split('\n').map((l) => JSON.parse(l) as FrameLine);
    expect(frames.length).toBeGreaterThanOrEqual(8);
    const ev = frames.map((f) => f.snapshot.sites.filter((s) => s.function === 'do_eventfd').reduce((n, s) => n + s.liveObjects, 0));
    /* Growing by whole holders of 1000, never down, about one every 2 s, up to the kill (5 or 6 of them in 11 s). */
    for (let i = 1; i < ev.length; i++) expect(ev[i]).toBeGreaterThanOrEqual(ev[i - 1]);
    expect(ev[ev.length - 1]).toBeGreaterThanOrEqual(4000);
    const spanS = (frames[frames.length - 1].ms - frames[0].ms) / 1000;
    const rate = (ev[ev.length - 1] - ev[0]) / spanS;
    expect(rate).toBeGreaterThan(300);
    expect(rate).toBeLessThan(700);

    /* A frame as top -b prints it, at a time, with growth from another. */
    const b = run('replay', '-b', '--since', 'start', '--at', 'end', '--match', '^do_eventfd$', file());
    expect(b.status).toBe(0);
    expect(b.stdout).toMatch(/^replay \d\d:\d\d:\d\d UTC, frame \d+ of \d+ /m);
    expect(b.stdout).toMatch(/^\s+\+\S+\s+\+[4-6]\d\d\d\s.*do_eventfd\+0x/m);

    /*
     * Two moments of one timeline, as two reports: the gate fails, naming
     * do_eventfd.  The threshold is well under what >= 4000 held eventfds
     * grow for certain (~290 bytes each in kmalloc-64, filp and lsm_file_cache;
     * dentries count as reclaimable): 1M was at the edge, and a loaded CI run
     * stayed under it.
     */
    const gate = run('diff', `${file()}@start`, `${file()}@end`, '--fail-on-growth', '256K');
    expect(gate.status).toBe(1);
    expect(gate.stdout).toMatch(/\sdo_eventfd$/m);
    expect(run('diff', `${file()}@start`, `${file()}@whenever`).stderr).toMatch(/"whenever" is not a time/);
  }, 60_000);

  it('a copy cut at a random byte opens up to its last whole frame, and says so', () => {
    const buf = fs.readFileSync(file());
    const cut = path.join(dir, 'cut.kmt');
    const at = Math.floor(buf.length * 0.6 + Math.random() * buf.length * 0.3);
    fs.writeFileSync(cut, buf.subarray(0, at));
    const whole = run('replay', '--export', 'json', file()).stdout.trim().split('\n').length;
    const r = run('replay', '--export', 'json', cut);
    expect(r.status).toBe(0);
    const n = r.stdout.trim().split('\n').length;
    expect(n).toBeGreaterThan(0);
    expect(n).toBeLessThan(whole);
    expect(r.stderr).toMatch(/bytes are not a whole frame \(cut short\): read up to /);
    const notOne = path.join(dir, 'not.kmt');
    fs.writeFileSync(notOne, 'hello\n');
    expect(run('replay', '-b', notOne)).toMatchObject({ status: 2, stderr: expect.stringMatching(/is not a kmemtop timeline/) });
  });

  it('--timeline-max holds the file at or under its size', async () => {
    const small = path.join(dir, 'small.kmt');
    const r = run('record', '--timeline', small, '--timeline-interval', '0.25', '--timeline-max', '64K', '--', 'sh', '-c', `for i in 1 2 3 4 5 6 7 8; do ${LOADGEN} spawn 100; sleep 0.5; done`);
    expect(r.status).toBe(0);
    expect(fs.statSync(small).size).toBeLessThanOrEqual(64 << 10);
    const frames = run('replay', '--export', 'json', small).stdout.trim().split('\n').map((l) => JSON.parse(l) as FrameLine);
    expect(frames.length).toBeGreaterThan(2);
    /* The newest frames are the ones kept: the last is the end of the recording. */
    expect(frames[frames.length - 1].ms).toBeGreaterThan(3000);
    expect(frames[0].ms).toBeGreaterThan(0);
  }, 60_000);

  it('start --timeline: the session\'s readers append a frame when one is due', async () => {
    const kmt = path.join(dir, 'session.kmt');
    expect(run('start', '--timeline', kmt, '--timeline-interval', '1').stdout).toMatch(/appends a frame to .*session\.kmt when one is due/);
    try {
      for (let i = 0; i < 3; i++) {
        expect(run('snapshot', '--top', '1').status).toBe(0);
        await sleep(1100);
      }
    } finally {
      expect(run('stop').status).toBe(0);
    }
    const frames = run('replay', '--export', 'json', kmt).stdout.trim().split('\n').map((l) => JSON.parse(l) as FrameLine);
    expect(frames.length).toBe(3);
    expect(frames[2].ms).toBeGreaterThanOrEqual(2000);
  }, 60_000);

  it('tmux: replay opens at the end; left, [ and Home step back and the header time moves', async () => {
    const sock = `kmemtop-rec-${process.pid}`;
    const tmux = (...args: string[]) => execFileSync('tmux', ['-L', sock, ...args], { encoding: 'utf8' });
    tmux('new-session', '-d', '-s', 'r', '-x', '80', '-y', '24', `${KMEMTOP} replay ${file()}; echo EXITED $?; sleep 60`);
    const screen = () => tmux('capture-pane', '-t', 'r', '-p');
    const header = async (re: RegExp) => {
      for (let i = 0; i < 100; i++) {
        const m = re.exec(screen());
        if (m) return m;
        await sleep(100);
      }
      throw new Error(`never matched ${re}:\n${screen()}`);
    };
    const last = await header(/^replay (\d\d:\d\d:\d\d) UTC, frame (\d+) of (\d+)/m);
    expect(last[2]).toBe(last[3]);
    tmux('send-keys', '-t', 'r', 'Left');
    const back = await header(new RegExp(`^replay (\\d\\d:\\d\\d:\\d\\d) UTC, frame ${Number(last[3]) - 1} of ${last[3]}`, 'm'));
    expect(back[1] < last[1]).toBe(true);
    tmux('send-keys', '-t', 'r', 'Home');
    await header(new RegExp(`^replay \\d\\d:\\d\\d:\\d\\d UTC, frame 1 of ${last[3]}`, 'm'));
    tmux('send-keys', '-t', 'r', ']');
    await header(new RegExp(`^replay \\d\\d:\\d\\d:\\d\\d UTC, frame ${last[3]} of ${last[3]}`, 'm'));
    tmux('send-keys', '-t', 'r', 't', '+', '2', 's', 'Enter');
    await header(/^replay \d\d:\d\d:\d\d UTC, frame [23] of /m);
    tmux('send-keys', '-t', 'r', 'q');
    await header(/^EXITED 0$/m);
  }, 60_000);

  it('watch --on-oom: the report of a memory-cgroup OOM says what grew in the minute before the kill', async () => {
    const out = path.join(dir, 'oom');
    const w = spawn(KMEMTOP, ['watch', '--on-oom', '-o', out], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    w.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise((r) => w.once('exit', r));
    for (let i = 0; i < 300 && !/watching for OOM kills/.test(stderr); i++) await sleep(100);
    const t0 = Date.now();
    const cg = new MemCgroup('kmemtop-test-prehistory', 48 << 20);
    let holder = null;
    try {
      await sleep(3000);
      /* The leak, inside the cgroup, after the history began; the kill a minute after it began. */
      holder = await startHolder('eventfd-hold', 5000, 30000, (argv) => cg.wrap(argv));
      await sleep(Math.max(0, 63_000 - (Date.now() - t0)));
      expect(cg.run(`exec ${LOADGEN} anon 200 < /dev/null`).signal).toBe('SIGKILL');
      for (let i = 0; i < 100 && !(fs.existsSync(out) && fs.readdirSync(out).some((f) => f.endsWith('.txt'))); i++) await sleep(100);
    } finally {
      await killHolder(holder);
      cg.remove();
      w.kill('SIGTERM');
      await exited;
    }
    const name = fs.readdirSync(out).find((f) => f.endsWith('.txt'))!;
    const text = fs.readFileSync(path.join(out, name), 'utf8');
    expect(text).toMatch(/^Grew most in the 1 minute before the kill \(live bytes; history held: \d+ s; timeline: \S+\.kmt\)$/m);
    /* do_eventfd's 5000 objects (kmalloc-64) grew within the minute. */
    expect(text).toMatch(/^\s*\+\S+\s+-\s+-\s+\S+\s+kmalloc-64\s+do_eventfd\+0x/m);
    /* The timeline written beside the report opens. */
    const kmt = path.join(out, name.replace(/\.txt$/, '.kmt'));
    expect(run('replay', '-b', kmt).status).toBe(0);
    expect(await kmemtopProgIdsSettled(progsBefore)).toEqual(progsBefore);
  }, 120_000);
});
