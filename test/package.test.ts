/*
 * kmemtop as a package: npm pack, then npm install -g --prefix TMP of the
 * tarball (offline: its dependencies are bundled), run from outside the
 * checkout with a private PATH of that prefix and /usr/bin without clang,
 * bpftool or any other compiler: --version, a record on the real kernel,
 * the man page, completion.  Nothing is compiled at install or run time.
 * Needs root and BPF.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { assertBpfUsable, describeBpf, kmemtopProgIds, kmemtopProgIdsSettled, LOADGEN } from './helpers/bpf';

const ROOT = path.join(__dirname, '..');
const COMPILERS = /^(clang.*|bpftool.*|llc.*|llvm.*|gcc.*|cc|c\+\+|g\+\+.*|x86_64-linux-gnu-.*|tsc|cpp.*)$/;

describeBpf('the package', () => {
  let dir: string;
  let tgz: string;
  let progsBefore: number[] = [];
  let env: NodeJS.ProcessEnv;

  beforeAll(() => {
    assertBpfUsable();
    progsBefore = kmemtopProgIds();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kmemtop-package-'));
    const name = execFileSync('npm', ['pack', '--pack-destination', dir, '--silent'], { cwd: ROOT, encoding: 'utf8' }).trim().split('\n').pop()!;
    tgz = path.join(dir, name);
    /* A PATH of the prefix and /usr/bin less every compiler. */
    const bin = path.join(dir, 'usr-bin');
    fs.mkdirSync(bin);
    for (const f of fs.readdirSync('/usr/bin')) if (!COMPILERS.test(f)) fs.symlinkSync(path.join('/usr/bin', f), path.join(bin, f));
    env = { HOME: dir, PATH: `${path.join(dir, 'prefix', 'bin')}:${bin}`, LANG: 'C.UTF-8' };
  }, 120_000);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('the tarball holds the built host, the BPF objects, the man page and licence; no tests, no vmlinux.h, nothing over 5 MiB', () => {
    expect(path.basename(tgz)).toMatch(/^kmemtop-\d+\.\d+\.\d+\.tgz$/);
    const list = execFileSync('tar', ['tvzf', tgz], { encoding: 'utf8' }).trim().split('\n');
    const files = list.map((l) => l.split(/\s+/).slice(5).join(' '));
    for (const f of ['package/bin/kmemtop', 'package/dist/cli/main.js', 'package/dist/build-info.json', 'package/build/kmemtop.bpf.o', 'package/build/reclaim.bpf.o', 'package/build/sweep.bpf.o', 'package/build/kmemtop.1', 'package/README.md', 'package/LICENSE']) {
      expect([f, files.includes(f)]).toEqual([f, true]);
    }
    expect(files.filter((f) => /^package\/(test|src|bpf|native|scripts)\//.test(f) || /vmlinux\.h$|\.test\.[jt]s$|bench_floor/.test(f))).toEqual([]);
    const big = list.filter((l) => Number(l.split(/\s+/)[2]) > 5 << 20);
    expect(big).toEqual([]);
  });

  it('installs offline into a prefix and runs from outside the checkout without a compiler on PATH: --version, record, man, completion', () => {
    const prefix = path.join(dir, 'prefix');
    const inst = spawnSync('npm', ['install', '-g', '--prefix', prefix, tgz, '--offline', '--no-audit', '--no-fund'], { cwd: dir, encoding: 'utf8', env: { ...process.env, HOME: dir } });
    expect([inst.status, inst.stderr]).toEqual([0, expect.any(String)]);
    const run = (...args: string[]) => spawnSync('kmemtop', args, { cwd: dir, encoding: 'utf8', env });
    expect(spawnSync('sh', ['-c', 'command -v clang bpftool gcc cc'], { env, encoding: 'utf8' }).stdout).toBe('');
    const v = run('--version');
    expect([v.status, v.stdout]).toEqual([0, expect.stringMatching(/^kmemtop \d+\.\d+\.\d+( \(commit [0-9a-f]{12}(-dirty)?\))?, BPF objects [0-9a-f]{16}, node \d+/)]);
    const vj = JSON.parse(run('version', '--json').stdout);
    expect(vj.kernel.features.find((f: { name: string }) => f.name === 'contexts')).toMatchObject({ on: true });
    /* The objects it loads are the package's. */
    const out = path.join(dir, 'r.json');
    const r = run('record', '--json', '--top', '0', '-o', out, '--', LOADGEN, 'eventfd-churn', '1000');
    expect([r.status, r.stderr]).toEqual([0, '']);
    const doc = JSON.parse(fs.readFileSync(out, 'utf8'));
    expect(doc.sites.filter((s: { function: string }) => s.function === 'do_eventfd').reduce((n: number, s: { allocs: number }) => n + s.allocs, 0)).toBe(1000);
    /* The man page npm linked, rendered. */
    const page = path.join(prefix, 'share', 'man', 'man1', 'kmemtop.1');
    const man = spawnSync('man', ['-l', page], { encoding: 'utf8', env: { ...env, MANWIDTH: '80', MANPAGER: 'cat', PAGER: 'cat' } });
    expect(man.status).toBe(0);
    expect(man.stdout).toMatch(/^KMEMTOP\(1\)/);
    for (const c of ['record', 'snapshot', 'serve', 'replay', 'diff']) expect(man.stdout).toContain(`kmemtop ${c}`);
    /* Completion: the script, and the words it asks for. */
    expect(run('completion').stdout).toMatch(/complete -o bashdefault -o default -F _kmemtop kmemtop/);
    expect(run('completion', '--shell', 'zsh').stdout).toMatch(/^#compdef kmemtop/);
    expect(run('--get-yargs-completions', 'kmemtop', 're').stdout.split('\n')).toEqual(expect.arrayContaining(['record', 'report', 'replay']));
  }, 120_000);

  it('without the system libbpf: one line naming the package, exit 1', () => {
    const lib = fs.realpathSync('/usr/lib/x86_64-linux-gnu/libbpf.so.1');
    const kmemtop = path.join(dir, 'prefix', 'bin', 'kmemtop');
    /* A private mount namespace where libbpf.so.1 is an empty file. */
    const r = spawnSync('unshare', ['-m', 'sh', '-c', `mount --bind /dev/null ${lib} && exec ${kmemtop} --version`], { encoding: 'utf8', env });
    expect([r.status, r.stdout, r.stderr]).toEqual([1, '', 'kmemtop: libbpf.so.1 not found: install libbpf 1.x (Debian and Ubuntu: apt install libbpf1; Fedora: dnf install libbpf)\n']);
  });

  it('leaves nothing loaded', async () => {
    expect(await kmemtopProgIdsSettled(progsBefore)).toEqual(progsBefore);
  });
});
