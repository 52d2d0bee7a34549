/*
 * The kmemtop command as a user meets it: --help, and one clear line with a
 * non-zero exit (never a stack trace) for each way it can be misused or
 * cannot run.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BpfError, BpfObject, recentLibbpfLog } from '../src/bpf/object';
import { explainBpfFailure } from '../src/sys/preflight';
import { assertBpfUsable, describeBpf, KMEMTOP, kmemtopProgIdsSettled, ROOT } from './helpers/bpf';

function run(args: string[], env: NodeJS.ProcessEnv = {}, wrap: string[] = []) {
  const [cmd, ...pre] = wrap.length ? wrap : [KMEMTOP];
  const r = spawnSync(cmd, [...pre, ...(wrap.length ? [KMEMTOP] : []), ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function expectOneLineError(r: ReturnType<typeof run>, status: number, msg: RegExp) {
  expect(r.status).toBe(status);
  expect(r.stderr).toMatch(msg);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe('kmemtop --help and usage errors', () => {
  it('--help lists the commands and examples', () => {
    const r = run(['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/record/);
    expect(r.stdout).toMatch(/snapshot/);
    expect(r.stdout).toMatch(/Examples:/);
  });

  it('record --help documents the options with units', () => {
    const r = run(['record', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/--max-live/);
    expect(r.stdout).toMatch(/--sort/);
  });

  it('diff: a gate whose reports lost more than its threshold can hide is inconclusive, exit 3', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kmemtop-diff-'));
    try {
      const site = { function: 'do_eventfd', offset: 52, module: null, cache: 'kmalloc-192', liveBytes: 0, liveObjects: 0, allocs: 0 };
      const doc = (live: number, liveFull: number, startedAt = '2026-12-05T00:00:00Z') =>
        JSON.stringify({
          tool: 'kmemtop', schemaVersion: 1, kernel: 'k', hostname: 'h', window: { end: 't' }, totals: { sites: 1 },
          session: { startedAt, startedByPid: 1, sampleOneIn: 1, flags: [] },
          lost: { recursionMisses: 0, sitesFull: 0, liveFull, liveUpdateFailed: 0, siteMissing: 0 },
          sites: [{ ...site, liveObjects: live, liveBytes: 192 * live, allocs: live }],
        });
      const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((n) => path.join(dir, `${n}.json`));
      fs.writeFileSync(a, doc(10, 5));
      fs.writeFileSync(b, doc(20, 5)); /* no loss since a (one session): exact */
      fs.writeFileSync(c, doc(20, 5000)); /* 4995 allocations untracked since a: up to 959,040 bytes unseen */
      fs.writeFileSync(d, doc(20, 5000, '2026-12-05T01:00:00Z')); /* another session: both reports' losses count */
      expect(run(['diff', a, b, '--fail-on-growth', '1024']).status).toBe(1);
      expect(run(['diff', a, b, '--fail-on-growth', '4096']).status).toBe(0);
      const r = run(['diff', a, c, '--fail-on-growth', '4096']);
      expect([r.status, r.stderr]).toEqual([
        3,
        'kmemtop: inconclusive: the reports may be off by up to 959040 bytes (4995 objects lost, each up to 192 bytes), so growth of 1920 cannot be told from --fail-on-growth 4096: rerun with a larger --max-live or --max-sites, or --catch-nested\n',
      ]);
      const wide = run(['diff', a, c, '--fail-on-growth', String(10 ** 7)]);
      expect(wide.status).toBe(0);
      /* The header gives each report's losses by cause. */
      expect(wide.stdout).toMatch(/c\.json: .*; lost events: live map full 5,000$/m);
      expect(run(['diff', a, d, '--fail-on-growth', '4096']).stderr).toMatch(/off by up to 960960 bytes \(5005 objects lost/);
      fs.writeFileSync(path.join(dir, 'e.json'), doc(20, 5).replace('"liveFull":5', '"liveFull":-5'));
      expectOneLineError(run(['diff', a, path.join(dir, 'e.json')]), 2, /e\.json: not a valid kmemtop report: lost\.liveFull/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('diff: exit 1 past --fail-on-growth, 2 for a bad file, 0 otherwise', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kmemtop-diff-'));
    try {
      const site = { function: 'do_eventfd', offset: 52, module: null, cache: 'kmalloc-192', liveBytes: 0, liveObjects: 0, allocs: 0 };
      const doc = (live: number) =>
        JSON.stringify({ tool: 'kmemtop', schemaVersion: 1, kernel: 'k', hostname: 'h', window: { end: 't' }, totals: { sites: 1 }, sites: [{ ...site, liveObjects: live, liveBytes: 192 * live, allocs: live }] });
      fs.writeFileSync(path.join(dir, 'a.json'), doc(0));
      fs.writeFileSync(path.join(dir, 'b.json'), doc(1000));
      const a = path.join(dir, 'a.json');
      const b = path.join(dir, 'b.json');
      const grew = run(['diff', a, b, '--fail-on-growth', '1024']);
      expect(grew.status).toBe(1);
      expect(grew.stdout).toMatch(/\+1,000 +\+1,000 +changed +kmalloc-192 +do_eventfd/);
      expect(grew.stderr).toMatch(/grew by 192000, more than --fail-on-growth 1024/);
      const j = run(['diff', a, b, '--json']);
      expect(j.status).toBe(0);
      expect(JSON.parse(j.stdout).rows[0]).toMatchObject({ function: 'do_eventfd', module: null, liveBytesDelta: 192000, liveObjectsDelta: 1000, allocsDelta: 1000 });
      expect(run(['diff', a, b, '--match', 'nomatch', '--fail-on-growth', '0']).status).toBe(0);
      fs.writeFileSync(path.join(dir, 'bad.json'), '{"tool":');
      expectOneLineError(run(['diff', a, path.join(dir, 'bad.json')]), 2, /bad.json: not a kmemtop report \(invalid or truncated JSON\)/);
      expectOneLineError(run(['diff', a, b, '--match', '(']), 2, /--match takes a regular expression/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each([
    [['record'], /record needs a command/],
    [['snapshot', '-d', 'x'], /--duration/],
    [['snapshot', '-d', '0'], /--duration takes/],
    [['record', '--bogus', '--', 'true'], /Unknown argument/],
    [['frobnicate'], /Unknown argument|command/],
  ])('%j: one line, exit 2', (args, msg) => {
    expectOneLineError(run(args as string[]), 2, msg as RegExp);
  });
});

describeBpf('kmemtop cannot run: one line with the fix', () => {
  beforeAll(() => assertBpfUsable());

  it('not root', () => {
    const r = run(['snapshot', '-d', '1'], {}, ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all']);
    expectOneLineError(r, 1, /needs root.*sudo/);
  });

  it('no BTF', () => {
    expectOneLineError(run(['snapshot', '-d', '1'], { KMEMTOP_BTF_PATH: '/nonexistent/vmlinux' }), 1, /no BTF.*CONFIG_DEBUG_INFO_BTF/);
  });

  it('kallsyms hidden by kptr_restrict', () => {
    const sysctl = '/proc/sys/kernel/kptr_restrict';
    const saved = fs.readFileSync(sysctl, 'utf8');
    try {
      fs.writeFileSync(sysctl, '2');
      expectOneLineError(run(['snapshot', '-d', '1']), 1, /kptr_restrict/);
    } finally {
      fs.writeFileSync(sysctl, saved);
    }
  });

  it('a command that does not exist', () => {
    expectOneLineError(run(['record', '--', '/nonexistent/cmd']), 127, /cannot run \/nonexistent\/cmd: command not found/);
  });

  it('-o /dev/null writes to the device and leaves it a device (no rename over it)', () => {
    const r = run(['record', '--json', '-o', '/dev/null', '--', 'true']);
    expect(r.status).toBe(0);
    expect(fs.statSync('/dev/null').isCharacterDevice()).toBe(true);
  });

  it('an unwritable output file', () => {
    expectOneLineError(run(['record', '-o', '/nonexistent/dir/x.json', '--', 'true']), 1, /cannot write \/nonexistent\/dir\/x.json/);
  });

  it('a tracepoint this kernel lacks: the real libbpf failure, explained', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kmemtop-tp-'));
    const src = path.join(dir, 'missing.bpf.c');
    const obj = path.join(dir, 'missing.bpf.o');
    fs.writeFileSync(
      src,
      '#include "vmlinux.h"\n#include <bpf/bpf_helpers.h>\nchar LICENSE[] SEC("license") = "GPL";\n' +
        'SEC("tp_btf/kmemtop_no_such_tracepoint") int kmemtop__missing(void *ctx) { return 0; }\n',
    );
    try {
      execFileSync('clang', ['-g', '-O2', '-target', 'bpf', '-I', path.join(ROOT, 'build'), '-c', src, '-o', obj]);
      const o = BpfObject.open(obj);
      let err: unknown;
      try {
        o.load();
      } catch (e) {
        err = e;
      } finally {
        o.close();
      }
      expect(err).toBeInstanceOf(BpfError);
      const msg = explainBpfFailure(err as BpfError, 'load', recentLibbpfLog()).message;
      expect(msg).toMatch(/no tracepoint 'kmemtop_no_such_tracepoint'/);
      expect(msg.split('\n')).toHaveLength(1);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('leaves nothing loaded', async () => {
    expect(await kmemtopProgIdsSettled([])).toEqual([]);
  });
});

describe('explainBpfFailure (errno mapping)', () => {
  it.each([
    [38, 'load', /does not support BPF.*CONFIG_BPF_SYSCALL/],
    [1, 'load', /refused to load.*run as root/],
    [7, 'load', /lower --max-live/],
    [2, 'attach', /no tracepoint 'kmalloc'/],
  ])('errno %d at %s', (errno, stage, msg) => {
    const e = new BpfError('x', errno as number);
    expect(explainBpfFailure(e, stage as 'load' | 'attach', [], 'tp_btf/kmalloc').message).toMatch(msg as RegExp);
  });
});
