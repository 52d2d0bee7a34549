/*
 * A root tool on a hostile machine (real kernel): what an unprivileged user
 * plants at the pin path, a damaged session file, a start killed while
 * pinning, every command run without privilege, a report that cannot be
 * written.  Needs root and BPF (and strace, setpriv).
 */
import { spawnSync, SpawnSyncReturns } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { assertBpfUsable, describeBpf, KMEMTOP, kmemtopProgIds, kmemtopProgIdsSettled } from './helpers/bpf';
import { BPFFS, META_FILE, PIN_DIR } from '../src/session';

const run = (...args: string[]) => spawnSync(KMEMTOP, args, { encoding: 'utf8' });
const NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all'];
const asNobody = (...cmd: string[]) => spawnSync(NOBODY[0], [...NOBODY.slice(1), ...cmd], { encoding: 'utf8' });

function oneLine(r: SpawnSyncReturns<string>, code: number, msg: RegExp): void {
  expect([r.status, r.stderr]).toEqual([code, expect.stringMatching(msg)]);
  expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(r.stderr).not.toMatch(/\n\s+at |internal error/);
}

/* Files of a root-owned directory, with their contents. */
function contents(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const n of fs.readdirSync(d)) {
      const p = path.join(d, n);
      if (fs.lstatSync(p).isDirectory()) walk(p);
      else out[path.relative(dir, p)] = fs.readFileSync(p, 'utf8');
    }
  };
  walk(dir);
  return out;
}

describeBpf('real kernel: a hostile machine (pin path, session file, signals, no privilege)', () => {
  let progsBefore: number[] = [];
  let dir: string;

  beforeAll(() => {
    assertBpfUsable();
    expect(fs.existsSync(PIN_DIR)).toBe(false);
    progsBefore = kmemtopProgIds();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kmemtop-security-'));
    fs.chmodSync(dir, 0o755);
    /* bpffs mounted (as a start does), so the tests can plant things in it. */
    expect(run('start').status).toBe(0);
    expect(run('stop').status).toBe(0);
  });
  afterAll(() => {
    run('stop');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ['a symlink to a root directory', (target: string) => asNobody('ln', '-s', target, PIN_DIR), /kmemtop is a symlink: (refusing|it is not kmemtop's)/],
    ['a directory of another user', () => asNobody('mkdir', PIN_DIR), /kmemtop is owned by uid 65534, not 0: (refusing|it is not kmemtop's)/],
  ])('%s at the pin path: start and stop refuse it, the target is untouched', (_name, plant, msg) => {
    /* A plain bpffs mount is mode 1777: anyone may create the pin path first. */
    const mode = fs.statSync(BPFFS).mode & 0o7777;
    const target = path.join(dir, 'precious');
    for (const sub of ['links', 'maps', 'progs', path.join('reclaim', 'links')]) fs.mkdirSync(path.join(target, sub), { recursive: true });
    for (const f of ['links/kmemtop__kfree', 'maps/live', 'reclaim/links/x', 'keep.txt']) fs.writeFileSync(path.join(target, f), 'mine\n');
    const before = contents(target);
    fs.chmodSync(BPFFS, 0o1777);
    try {
      expect(plant(target).status).toBe(0);
      oneLine(run('stop'), 1, msg);
      oneLine(run('start'), 1, msg);
      const status = run('status');
      expect(status.status).toBe(1);
      expect(status.stdout).toMatch(msg);
      expect(contents(target)).toEqual(before);
      expect(kmemtopProgIds()).toEqual(progsBefore);
    } finally {
      fs.chmodSync(BPFFS, mode);
      const l = fs.lstatSync(PIN_DIR, { throwIfNoEntry: false });
      if (l?.isSymbolicLink()) fs.unlinkSync(PIN_DIR);
      else if (l?.isDirectory()) fs.rmdirSync(PIN_DIR);
    }
  });

  it.each([
    ['garbage', 'garbage{'],
    ['empty', ''],
    ['an empty object', '{}'],
  ])('settings that are %s: status and snapshot say so in one line; stop leaves nothing attached or pinned', async (_name, text) => {
    expect(run('start').status).toBe(0);
    /* One link per program the session attached, as its settings listed them before they were damaged. */
    const meta = JSON.parse(fs.readFileSync(META_FILE, 'utf8'));
    const links = meta.programs.length + meta.reclaimPrograms.length;
    fs.writeFileSync(META_FILE, text);
    const status = run('status');
    expect(status.status).toBe(1);
    expect(status.stdout).toMatch(/session\.json is damaged .*: kmemtop stop clears the session\n$/);
    oneLine(run('snapshot', '--json'), 1, /is damaged/);
    const stop = run('stop');
    expect(stop.status).toBe(0);
    expect(stop.stdout).toMatch(new RegExp(`cleared what a session left behind, programs detached \\(${links} links, \\d+ other pins, settings removed\\)`));
    expect(await kmemtopProgIdsSettled(progsBefore)).toEqual(progsBefore);
    expect(fs.existsSync(PIN_DIR)).toBe(false);
    expect(fs.existsSync(META_FILE)).toBe(false);
  });

  it('writes the settings root-only, atomically', () => {
    expect(run('start').status).toBe(0);
    try {
      expect(fs.statSync(META_FILE).mode & 0o777).toBe(0o600);
      expect(fs.statSync(path.dirname(META_FILE)).mode & 0o777).toBe(0o700);
      expect(fs.statSync(PIN_DIR).mode & 0o777).toBe(0o700);
      expect(JSON.parse(fs.readFileSync(META_FILE, 'utf8'))).toMatchObject({ version: 1, state: 'running' });
      expect(fs.readdirSync(path.dirname(META_FILE))).toEqual([path.basename(META_FILE)]);
    } finally {
      run('stop');
    }
  });

  it('SIGKILL at four points of start (strace fault injection): status tells, stop clears everything', async () => {
    /* How many bpf() calls a whole start makes: the late kills land among the pins. */
    const count = spawnSync('strace', ['-f', '-qq', '-c', '-e', 'trace=bpf', KMEMTOP, 'start'], { encoding: 'utf8' });
    expect(run('stop').status).toBe(0);
    const total = Number(/^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?bpf$/m.exec(count.stderr)?.[1]);
    expect(total).toBeGreaterThan(100);
    for (const n of [60, 120, total - 30, total - 10]) {
      const r = spawnSync('strace', ['-f', '-qq', '-o', '/dev/null', '-e', 'trace=bpf', '-e', `inject=bpf:signal=SIGKILL:when=${n}`, KMEMTOP, 'start'], {
        encoding: 'utf8',
      });
      /* strace ends as its tracee did: killed. */
      expect([n, r.signal ?? r.status]).toEqual([n, r.signal ? 'SIGKILL' : 128 + 9]);
      /* Late kills leave programs attached by pinned links: the case stop must clear. */
      if (n >= total - 30) expect([n, kmemtopProgIds().length > progsBefore.length]).toEqual([n, true]);
      const status = run('status');
      expect([n, status.status]).toEqual([n, 1]);
      expect(status.stdout).toMatch(/^kmemtop: a start \(pid \d+\) was interrupted and left part of a session: kmemtop stop clears it\n$/);
      const stop = run('stop');
      expect([n, stop.status]).toEqual([n, 0]);
      expect(stop.stdout).toMatch(/^kmemtop: cleared what a session left behind, programs detached/);
      expect([n, await kmemtopProgIdsSettled(progsBefore)]).toEqual([n, progsBefore]);
      expect(fs.existsSync(PIN_DIR)).toBe(false);
      expect(fs.existsSync(META_FILE)).toBe(false);
    }
  });

  it('SIGINT and SIGTERM while pinning leave a whole session', async () => {
    const count = spawnSync('strace', ['-f', '-qq', '-c', '-e', 'trace=bpf', KMEMTOP, 'start'], { encoding: 'utf8' });
    expect(run('stop').status).toBe(0);
    const pinning = Number(/^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?bpf$/m.exec(count.stderr)?.[1]) - 20;
    for (const sig of ['SIGINT', 'SIGTERM']) {
      try {
        const r = spawnSync('strace', ['-f', '-qq', '-o', '/dev/null', '-e', 'trace=bpf', '-e', `inject=bpf:signal=${sig}:when=${pinning}`, KMEMTOP, 'start'], {
          encoding: 'utf8',
        });
        expect(r.stderr).toMatch(new RegExp(`${sig} arrived while pinning: the session is whole`));
        expect(run('status').status).toBe(0);
      } finally {
        expect(run('stop').status).toBe(0);
      }
    }
    expect(await kmemtopProgIdsSettled(progsBefore)).toEqual(progsBefore);
  });

  it('every command without privilege: one line naming it, never a stack trace', () => {
    const report = path.join(dir, 'r.json');
    fs.writeFileSync(report, fs.readFileSync(path.join(__dirname, 'fixtures', 'raw-eventfd.json')));
    const priv = /needs root \(CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN\): run it with sudo/;
    for (const args of [['top', '-b', '-n', '1'], ['record', '--', 'true'], ['snapshot', '-d', '1'], ['start'], ['stop'], ['status'], ['watch', '--on-oom', '-o', dir]]) {
      const r = asNobody(KMEMTOP, ...args);
      expect([args.join(' '), r.status]).toEqual([args.join(' '), 1]);
      oneLine(r, 1, priv);
    }
    /* report prints what /proc lets anyone read, and says what needs root. */
    const rep = asNobody(KMEMTOP, 'report');
    expect(rep.status).toBe(0);
    expect(rep.stdout).toMatch(/^verdict: /m);
    expect(rep.stdout).toMatch(/\/proc\/slabinfo is readable by root only/);
    expect(rep.stdout).toMatch(/call sites: tracing call sites needs root/);
    oneLine(rep, 0, /report without call sites, slab caches and shrinkers: tracing call sites needs root/);
    /* diff needs no privilege: a file that is not a report is refused as such. */
    oneLine(asNobody(KMEMTOP, 'diff', report, report), 2, /not a kmemtop report/);
  });

  it('record keeps the command exit code when the report cannot be written', () => {
    const r = run('record', '-o', '/dev/full', '--', 'sh', '-c', 'exit 3');
    oneLine(r, 3, /^kmemtop: cannot write \/dev\/full: ENOSPC \(the command exited with code 3, kept as kmemtop's\)\n$/);
  });

  it('leaves nothing loaded', async () => {
    expect(await kmemtopProgIdsSettled(progsBefore)).toEqual(progsBefore);
    expect(fs.existsSync(PIN_DIR)).toBe(false);
  });
});
