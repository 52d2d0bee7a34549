/*
 * The live view on the real kernel, in a real terminal: tmux runs kmemtop,
 * capture-pane reads the screen, send-keys types.  Checks the screen
 * changes with each key, that q, SIGTERM and SIGINT restore the terminal,
 * and that nothing stays loaded.  Needs root, BPF and tmux.
 */
import { execFileSync, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { assertBpfUsable, describeBpf, KMEMTOP, kmemtopProgIds, kmemtopProgIdsSettled, LOADGEN } from './helpers/bpf';
import { Holder, releaseHolder, startHolder } from './helpers/loadgen';

const SOCKET = `kmemtop-test-${process.pid}`;
const tmux = (...args: string[]) => execFileSync('tmux', ['-L', SOCKET, ...args], { encoding: 'utf8' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const screen = () => tmux('capture-pane', '-t', 'kt', '-p');

/* Poll the screen until it matches (the view refreshes on its own). */
async function waitFor(re: RegExp, timeoutMs = 8000): Promise<string> {
  const end = Date.now() + timeoutMs;
  let s = screen();
  while (!re.test(s) && Date.now() < end) {
    await sleep(100);
    s = screen();
  }
  if (!re.test(s)) throw new Error(`screen never matched ${re}:\n${s}`);
  return s;
}

function start(args: string, width = 80, height = 24): void {
  tmux('new-session', '-d', '-s', 'kt', '-x', String(width), '-y', String(height), `NCURSES_NO_UTF8_ACS=1 ${KMEMTOP} ${args}; echo EXITED $?; sleep 600`);
}

function kmemtopPid(): number {
  const shell = tmux('list-panes', '-t', 'kt', '-F', '#{pane_pid}').trim();
  return Number(execFileSync('pgrep', ['-P', shell], { encoding: 'utf8' }).trim().split('\n')[0]);
}

describeBpf('live view in a terminal (tmux)', () => {
  let progsBefore: number[] = [];

  beforeAll(() => {
    assertBpfUsable();
    progsBefore = kmemtopProgIds();
  });
  afterEach(() => {
    spawnSync('tmux', ['-L', SOCKET, 'kill-server']);
  });
  /* The server is gone; its socket file is not. */
  afterAll(() => fs.rmSync(path.join(process.env.TMUX_TMPDIR ?? '/tmp', `tmux-${process.getuid!()}`, SOCKET), { force: true }));

  it('shows the view at 80x24 and reacts to sort, filter, detail, views, help and quit', async () => {
    start('-d 0.5');
    let s = await waitFor(/^\[1:sites\]/m);
    expect(s).toMatch(/^kmemtop \d+s +live /m);
    expect(s).toMatch(/^memory: slab .* dominates/m);
    /*
     * The loss line: none, or (default mode counts the frees the kernel
     * skipped as nested, which a busy start-up can have) how many and by how
     * much the figures may be off.
     */
    expect(s).toMatch(/^(lost events: none|LOST EVENTS: recursion \d+: live figures approximate \(\+\/-\d+ objects\))/m);
    expect(s).toMatch(/LIVE BYTES v/);
    expect(s).toMatch(/^q quit/m);
    for (const line of s.split('\n')) expect(line.length).toBeLessThanOrEqual(80);

    tmux('send-keys', '-t', 'kt', 's');
    s = await waitFor(/LIVE OBJS v/);
    expect(s).toMatch(/sort liveObjects/);

    execFileSync(LOADGEN, ['eventfd-churn', '500']);
    tmux('send-keys', '-t', 'kt', '/', 'e', 'v', 'e', 'n', 't', 'f', 'd', 'Enter');
    s = await waitFor(/filter "eventfd"/);
    s = await waitFor(/do_eventfd\+0x/);
    const rows = s.split('\n').slice(5).filter((l) => l.trim() && !/^q quit/.test(l));
    expect(rows.filter((l) => !/eventfd/.test(l))).toEqual([]);

    tmux('send-keys', '-t', 'kt', 'Enter');
    s = await waitFor(/^allocs \S+ \(task/m);
    expect(s).toMatch(/live bytes over the session/);
    /* No --stacks/--by-*: c says which flag it needs, in the footer, and the pane stays on its site. */
    const site = /^(do_eventfd\+0x\w+|\S+)  /m.exec(s.split('\n').find((l) => / per object$/.test(l)) ?? '')?.[1];
    tmux('send-keys', '-t', 'kt', 'c');
    s = await waitFor(/^c needs kmemtop started with --stacks, --by-cgroup or --by-task$/m);
    expect(s.split('\n').find((l) => / per object$/.test(l))).toMatch(new RegExp(`^${site!.replace(/[.+]/g, '\\$&')}  `));
    /* A key of top's: a hint, not silence. */
    tmux('send-keys', '-t', 'kt', 'P');
    await waitFor(/^P: P\/M\/T sort in top: here s or < > walk the sort columns; \? for help/m);

    tmux('send-keys', '-t', 'kt', 'Escape', '/', 'C-u', 'Enter', 'Tab');
    s = await waitFor(/\[2:caches\]/);
    expect(s).toMatch(/PHANTOM/);

    tmux('send-keys', '-t', 'kt', '3');
    s = await waitFor(/\[3:shrinkers\]/);
    expect(s).toMatch(/ASKED|shrinkers:/);

    tmux('send-keys', '-t', 'kt', '?');
    s = await waitFor(/^Views +Tab/m);
    /* 80x24 is shorter than the help: it says there is more, and scrolls to the end. */
    expect(s).toMatch(/^-- more: down\/PgDn \(line \d+ of \d+\) --/m);
    tmux('send-keys', '-t', 'kt', 'NPage', 'NPage', 'NPage');
    s = await waitFor(/their cache after the call site\.$/m);
    expect(s).not.toMatch(/-- more/);
    tmux('send-keys', '-t', 'kt', 'x');
    await waitFor(/\[3:shrinkers\]/);

    tmux('send-keys', '-t', 'kt', 'q');
    s = await waitFor(/^EXITED 0$/m);
    /* The terminal is back: off the alternate screen. */
    expect(tmux('display-message', '-t', 'kt', '-p', '#{alternate_on}').trim()).toBe('0');
    expect(await kmemtopProgIdsSettled(progsBefore)).toEqual(progsBefore);
  });

  it('follows a terminal resize, and NO_COLOR leaves colors out', async () => {
    /* Filtered to one short call site: which columns fit depends on the longest call site shown (never cut). */
    tmux('new-session', '-d', '-s', 'kt', '-x', '132', '-y', '40', `NO_COLOR=1 ${KMEMTOP} -d 0.5 --filter do_eventfd; echo EXITED $?; sleep 600`);
    let s = await waitFor(/^\[1:sites\]/m);
    expect(s).toMatch(/ALLOCS/); /* wide enough for every column (MODULE only on a kernel with module sites) */
    tmux('resize-window', '-t', 'kt', '-x', '80', '-y', '24');
    s = await waitFor(/^q quit/m);
    await sleep(1200);
    s = screen();
    expect(s).not.toMatch(/ALLOCS/);
    expect(s.split('\n').filter((l) => l.length > 80)).toEqual([]);
    /* With escapes: attributes (bold, inverse) but no foreground or background colors. */
    const esc = tmux('capture-pane', '-t', 'kt', '-p', '-e');
    expect(esc).not.toMatch(/\x1b\[[0-9;]*(3[0-7]|9[0-7]|4[0-7]|38;5;\d+)m/);
    tmux('send-keys', '-t', 'kt', 'q');
    await waitFor(/^EXITED 0$/m);
  });

  it.each([['SIGTERM'], ['SIGINT']])('%s ends it cleanly: terminal restored, programs detached', async (sig) => {
    start('-d 0.5', 100, 30);
    await waitFor(/^\[1:sites\]/m);
    expect(kmemtopProgIds().length).toBeGreaterThan(progsBefore.length);
    process.kill(kmemtopPid(), sig as NodeJS.Signals);
    await waitFor(/^EXITED 0$/m);
    expect(tmux('display-message', '-t', 'kt', '-p', '#{alternate_on}').trim()).toBe('0');
    expect(await kmemtopProgIdsSettled(progsBefore)).toEqual(progsBefore);
  });

  it.each([
    [80, 24],
    [120, 40],
  ])('at %ix%i: b marks, 2000 eventfds held after it show +2000 (1500 before it do not), the call site whole; ? then q closes help', async (w, h) => {
    start('-d 0.5 --filter do_eventfd', w, h);
    await waitFor(/^\[1:sites\]/m);
    const before = await startHolder('eventfd-hold', 1500);
    let after: Holder | null = null;
    try {
      await waitFor(/^\s*\S+\s+1500\s.*do_eventfd\+0x[0-9a-f]+$/m);
      tmux('send-keys', '-t', 'kt', 'b');
      await waitFor(/ since \d\d:\d\d:\d\d /);
      after = await startHolder('eventfd-hold', 2000);
      const s = await waitFor(/^\s*\+\S+\s+\+2000\s.*do_eventfd\+0x[0-9a-f]+$/m);
      expect(s).toMatch(/^\+LIVE BYTES v \+LIVE OBJS/m);
      /* The whole name: the row ends with it, nothing cut. */
      expect(s).not.toMatch(/do_eventfd\S*…/);
      tmux('send-keys', '-t', 'kt', 'B');
      await waitFor(/^\s*\S+\s+3500\s.*do_eventfd\+0x[0-9a-f]+$/m);
      tmux('send-keys', '-t', 'kt', '?');
      await waitFor(/^Baseline +b: mark now/m);
      tmux('send-keys', '-t', 'kt', 'q');
      await waitFor(/^\[1:sites\]/m);
      await sleep(700);
      expect(screen()).not.toMatch(/^EXITED/m);
      tmux('send-keys', '-t', 'kt', 'q');
      await waitFor(/^EXITED 0$/m);
    } finally {
      await releaseHolder(before);
      if (after) await releaseHolder(after);
    }
  });

  it('top -b -n 2 --json is two JSON documents, one per line; batch text has whole names and no tabs or key footer', () => {
    const r = spawnSync(KMEMTOP, ['top', '-b', '-n', '2', '-d', '0.5', '--json', '--view', 'caches'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    const docs = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(docs).toHaveLength(2);
    for (const d of docs) expect(d).toMatchObject({ tool: 'kmemtop', kind: 'top', view: 'caches', rows: expect.any(Array) });
    /* --timeline: a frame at each refresh once the interval has passed; replay reads them back. */
    const kmt = path.join(os.tmpdir(), `kmemtop-top-${process.pid}.kmt`);
    try {
      const t = spawnSync(KMEMTOP, ['top', '-b', '-n', '3', '-d', '0.5', '--timeline', kmt, '--timeline-interval', '0.5'], { encoding: 'utf8', env: { ...process.env, COLUMNS: '' } });
      expect(t.stdout).toMatch(/^view sites {2}sort liveBytes$/m);
      expect(t.stdout).not.toMatch(/\[1:sites\]|^q quit|…/m);
      const frames = spawnSync(KMEMTOP, ['replay', '--export', 'json', kmt], { encoding: 'utf8' }).stdout.trim().split('\n');
      expect(frames.length).toBe(3);
      expect(JSON.parse(frames[2])).toMatchObject({ kind: 'timeline-frame', snapshot: { sites: expect.any(Array) } });
    } finally {
      fs.rmSync(kmt, { force: true });
    }
  });

  it('--older 5: eventfds held for 10 s count, those opened 2 s before the frame and churned ones do not; the sweep counts ages by site', async () => {
    const child = spawn(KMEMTOP, ['top', '-b', '-n', '1', '-d', '12', '--json', '--older', '5', '--filter', 'do_eventfd'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const holders: Holder[] = [];
    try {
      await sleep(2500); /* attached */
      holders.push(await startHolder('eventfd-hold', 1000));
      execFileSync(LOADGEN, ['eventfd-churn', '20000']);
      await sleep(7000);
      holders.push(await startHolder('eventfd-hold', 700));
      expect(await exited).toBe(0);
    } finally {
      for (const h of holders) await releaseHolder(h);
    }
    const doc = JSON.parse(out);
    type Age = { under10s: number; under1m: number; under10m: number; older: number; olderThanObjects: number };
    const rows = (doc.rows as { function: string; liveObjects: number; age: Age }[]).filter((r) => r.function === 'do_eventfd');
    expect(rows.reduce((n, r) => n + r.liveObjects, 0)).toBe(1000);
    /* Both holders' objects are tracked and aged (the young ones under 10 s); only the older 1000 count. */
    const tracked = rows.reduce((n, r) => n + r.age.under10s + r.age.under1m + r.age.under10m + r.age.older, 0);
    expect(tracked).toBeGreaterThanOrEqual(1700);
    expect(rows.reduce((n, r) => n + r.age.under10s, 0)).toBeGreaterThanOrEqual(700);
    expect(rows.reduce((n, r) => n + r.age.olderThanObjects, 0)).toBe(1000);
  }, 30_000);

  it('batch mode prints plain frames; without a terminal and -b it says so', () => {
    const r = spawnSync(KMEMTOP, ['top', '-b', '-n', '2', '-d', '0.5', '--filter', 'eventfd'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout.match(/^kmemtop \d+s +live /gm)).toHaveLength(2);
    expect(r.stdout).not.toMatch(/\x1b\[/);
    const nt = spawnSync(KMEMTOP, [], { encoding: 'utf8' });
    expect(nt.status).toBe(2);
    expect(nt.stderr).toMatch(/needs a terminal: use -b/);
  });
});
