/*
 * Reports read defensively and files written safely (no BPF needed): huge
 * and crafted reports, a fuzz of mutated ones, control characters, planted
 * symlinks at an output's temporary name, file modes.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildSnapshot } from '../src/model/snapshot';
import { renderJson, toDocument } from '../src/output/report';
import { checkReport } from '../src/output/load';
import { diffSites, phantomByGroup } from '../src/model/diff';
import { renderDiffText, side } from '../src/output/diff';
import { printable, table } from '../src/output/format';
import { writeFileSafely, trustedDir, parseMode } from '../src/sys/safefs';
import { KmemtopError } from '../src/errors';
import { KMEMTOP } from './helpers/bpf';
import { fixtureKallsyms, fixtureRaw } from './helpers/fixtures';

const raw = fixtureRaw();
const syms = fixtureKallsyms();
const doc = toDocument(buildSnapshot(raw, raw, (ip) => syms.resolve(ip)), { kind: 'snapshot', kernel: '6.18.44', hostname: 'vm' }, { sort: 'liveBytes', top: 0 });
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kmemtop-hostile-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const write = (name: string, value: unknown) => {
  const f = path.join(dir, name);
  fs.writeFileSync(f, typeof value === 'string' ? value : JSON.stringify(value));
  return f;
};
const diff = (...args: string[]) => spawnSync(KMEMTOP, ['diff', ...args], { encoding: 'utf8', maxBuffer: 1 << 30 });
/* Any control character but a newline. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

describe('hostile and huge reports', () => {
  it('a 300,000-site report diffs, as text and JSON', () => {
    const site = (i: number) => ({ function: `f${i}`, module: null, cache: `c${i % 97}`, liveBytes: i * 64, liveObjects: i, allocs: i, objectSize: 64 });
    const big = { ...doc, sites: Array.from({ length: 300000 }, (_, i) => site(i)), totals: { ...doc.totals, sites: 300000 } };
    const a = write('big-a.json', big);
    const b = write('big-b.json', { ...big, sites: big.sites.map((s) => ({ ...s, liveObjects: s.liveObjects + 1, liveBytes: s.liveBytes + 64 })) });
    const text = diff(a, b);
    expect([text.status, text.stderr]).toEqual([0, '']);
    expect(text.stdout.split('\n').length).toBeGreaterThan(300000);
    const json = diff(a, b, '--json');
    expect(json.status).toBe(0);
    expect(JSON.parse(json.stdout).rows).toHaveLength(300000);
  });

  it('escape bytes in names reach no terminal raw', () => {
    const evil = { ...doc, hostname: 'h\u001b]0;owned\u0007', sites: doc.sites.map((s, i) => (i === 0 ? { ...s, function: 'evil\u001b[2J\u001b]52;c;Zm9v\u0007', cache: 'c\u009b31m' } : s)) };
    const a = write('evil-a.json', doc);
    const b = write('evil-b.json', evil);
    const r = diff(a, b);
    expect(r.status).toBe(0);
    expect(r.stdout).not.toMatch(CONTROL);
    expect(r.stdout).toContain('evil\\x1b[2J\\x1b]52;c;Zm9v\\x07');
    expect(printable('a\u001bb')).toBe('a\\x1bb');
    expect(table(['N'], [['x\u0007']], [false])).toEqual(['N', 'x\\x07']);
  });

  it.each([
    ['huge number', { ...doc, sites: [{ ...doc.sites[0], liveBytes: 1e308 }] }, /sites\[0\]\.liveBytes is not a whole number/],
    ['window is a number', { ...doc, window: 7 }, /window is not an object/],
    ['window.end not a time', { ...doc, window: { ...doc.window, end: 5 } }, /window\.end is not a time/],
    ['a name that is an object', { ...doc, sites: [{ ...doc.sites[0], function: { a: 1 } }] }, /sites\[0\]\.function is not a name/],
    ['aliases not names', { ...doc, sites: [{ ...doc.sites[0], cacheAliases: [1] }] }, /sites\[0\]\.cacheAliases\[0\] is not a name/],
    ['caches not a list', { ...doc, caches: 5 }, /caches is not a list/],
    ['a negative zero-padded mess', { ...doc, totals: { ...doc.totals, sites: 'many' } }, /totals\.sites is not a whole number/],
  ])('%s: one line naming the field, exit 2', (name, value, msg) => {
    const a = write('ok.json', doc);
    const b = write(`bad-${name.replace(/\W/g, '')}.json`, value);
    const r = diff(a, b);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(msg);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('fuzz: 2000 mutated reports either load and diff, or fail in one line; never a throw of another kind, never a control byte', () => {
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const values: unknown[] = [null, -1, 0, 1.5, 1e308, -1e308, 2 ** 60, '', 'x\u001b[31m', [], {}, true, 'a'.repeat(10000), [1, 2], { tool: 'kmemtop' }];
    const paths = (o: unknown, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] => {
      if (out.length > 400) return out;
      out.push(at);
      if (o && typeof o === 'object') {
        const keys = Array.isArray(o) ? o.map((_, i) => i).slice(0, 5) : Object.keys(o);
        for (const k of keys) paths((o as Record<string, unknown>)[k as string], [...at, k], out);
      }
      return out;
    };
    const base = JSON.parse(renderJson(doc));
    const all = paths(base).filter((p) => p.length > 0);
    let loaded = 0;
    let refused = 0;
    for (let i = 0; i < 2000; i++) {
      const m = JSON.parse(JSON.stringify(base));
      for (let k = 0; k <= rnd(3); k++) {
        const p = all[rnd(all.length)];
        let o = m;
        for (const key of p.slice(0, -1)) o = o?.[key];
        if (o && typeof o === 'object') {
          if (rnd(4) === 0) delete o[p[p.length - 1]];
          else o[p[p.length - 1]] = values[rnd(values.length)];
        }
      }
      let d;
      try {
        d = checkReport('m.json', m);
      } catch (e) {
        expect(e).toBeInstanceOf(KmemtopError);
        expect((e as KmemtopError).exitCode).toBe(2);
        expect((e as Error).message).not.toMatch(/\n/);
        expect((e as Error).message).not.toMatch(CONTROL);
        refused++;
        continue;
      }
      const { rows, totals } = diffSites(doc.sites, d.sites, phantomByGroup(doc.caches), phantomByGroup(d.caches));
      const text = renderDiffText({ tool: 'kmemtop', schemaVersion: 1, kind: 'diff', before: side('a', doc), after: side('b', d), totals, rows });
      expect(text).not.toMatch(CONTROL);
      expect(text).not.toMatch(/NaN|Infinity|undefined/);
      loaded++;
    }
    expect(loaded).toBeGreaterThan(100);
    expect(refused).toBeGreaterThan(100);
  });
});

describe('files written safely', () => {
  it('planted symlinks at predictable temporary names leave their target untouched; the report is 0600', () => {
    const shared = fs.mkdtempSync(path.join(dir, 'shared-'));
    fs.chmodSync(shared, 0o1777);
    const secret = path.join(dir, 'root-only');
    fs.writeFileSync(secret, 'secret\n', { mode: 0o600 });
    /* What an attacker would plant for the old name scheme (.NAME.PID.tmp) and the next few hundred pids. */
    const base = process.pid;
    for (let p = base; p < base + 400; p++) fs.symlinkSync(secret, path.join(shared, `.report.json.${p}.tmp`));
    const out = path.join(shared, 'report.json');
    writeFileSafely(out, 'report\n');
    expect(fs.readFileSync(secret, 'utf8')).toBe('secret\n');
    expect(fs.readFileSync(out, 'utf8')).toBe('report\n');
    expect(fs.statSync(out).mode & 0o777).toBe(0o600);
    /* A symlink at the name itself is replaced, not followed. */
    const link = path.join(shared, 'linked.json');
    fs.symlinkSync(secret, link);
    writeFileSafely(link, 'mine\n', 0o644);
    expect(fs.readFileSync(secret, 'utf8')).toBe('secret\n');
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(false);
    expect(fs.statSync(link).mode & 0o777).toBe(0o644);
    /* A symlink to a device in a world-writable directory is not followed either. */
    const dev = path.join(shared, 'dev.json');
    fs.symlinkSync('/dev/null', dev);
    writeFileSafely(dev, 'x\n');
    expect(fs.lstatSync(dev).isFile()).toBe(true);
    /* Devices reached without an untrusted link are written in place. */
    writeFileSafely('/dev/null', 'x\n');
    expect(fs.statSync('/dev/null').isCharacterDevice()).toBe(true);
    expect(fs.readdirSync(shared).filter((n) => n.endsWith('.tmp') && !fs.lstatSync(path.join(shared, n)).isSymbolicLink())).toEqual([]);
  });

  it('the CLI writes -o through none of them, and refuses a planted symlink on the way to its directory', () => {
    const shared = fs.mkdtempSync(path.join(dir, 'cli-'));
    fs.chmodSync(shared, 0o1777);
    const secret = path.join(dir, 'root-only-2');
    fs.writeFileSync(secret, 'secret\n', { mode: 0o600 });
    const a = write('cli-a.json', doc);
    /* The children's pids are unknown here: plant the old scheme's names for a wide range. */
    for (let p = 1; p < 4000; p++) fs.symlinkSync(secret, path.join(shared, `.out.txt.${p}.tmp`));
    const r = spawnSync(KMEMTOP, ['diff', a, a, '-o', path.join(shared, 'out.txt')], { encoding: 'utf8' });
    expect([r.status, r.stderr]).toEqual([0, '']);
    expect(fs.readFileSync(secret, 'utf8')).toBe('secret\n');
    expect(fs.statSync(path.join(shared, 'out.txt')).mode & 0o777).toBe(0o600);
    /* A directory on the way that is a symlink someone could have planted. */
    const elsewhere = fs.mkdtempSync(path.join(dir, 'elsewhere-'));
    fs.symlinkSync(elsewhere, path.join(shared, 'reports'));
    const via = spawnSync(KMEMTOP, ['diff', a, a, '-o', path.join(shared, 'reports', 'x.txt')], { encoding: 'utf8' });
    expect(via.status).toBe(1);
    expect(via.stderr).toMatch(/reports is a symlink in a directory others can write: refusing to write through it\n$/);
    expect(fs.readdirSync(elsewhere)).toEqual([]);
  });

  it("another user's FIFO at an output path is refused in one line, never a hang; root's FIFO without a reader is an error, not a hang", () => {
    fs.chmodSync(dir, 0o755); /* nobody reaches the shared directory */
    const shared = fs.mkdtempSync(path.join(dir, 'fifo-'));
    fs.chmodSync(shared, 0o1777);
    const a = write('fifo-a.json', JSON.parse(renderJson(doc)));
    const planted = path.join(shared, 'd.txt');
    expect(spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'mkfifo', planted]).status).toBe(0);
    const r = spawnSync(KMEMTOP, ['diff', a, a, '-o', planted], { encoding: 'utf8', timeout: 20000 });
    expect([r.signal, r.status, r.stderr]).toEqual([null, 1, `kmemtop: refusing to write ${planted}: it is a FIFO owned by uid 65534, not root\n`]);
    /* Root's own FIFO in a directory only root writes, nobody reading: an error at once. */
    const mine = path.join(fs.mkdtempSync(path.join(dir, 'own-')), 'fifo');
    expect(spawnSync('mkfifo', [mine]).status).toBe(0);
    const r2 = spawnSync(KMEMTOP, ['diff', a, a, '-o', mine], { encoding: 'utf8', timeout: 20000 });
    expect([r2.signal, r2.status, r2.stderr]).toEqual([null, 1, `kmemtop: cannot write ${mine}: a FIFO with no reader\n`]);
  });

  it('a full disk: -o exits 1 in one line and leaves the old file (or none), never a cut one; so does stdout', () => {
    const small = fs.mkdtempSync(path.join(dir, 'full-'));
    expect(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', small]).status).toBe(0);
    try {
      /* Two reports whose 2000 sites all grew: a diff far larger than the 64 KiB the disk holds. */
      const base = JSON.parse(renderJson(doc));
      const many = (grow: number) => ({
        ...base,
        sites: Array.from({ length: 2000 }, (_, i) => ({ ...base.sites[0], function: `fn_${i}`, liveBytes: base.sites[0].liveBytes + grow, liveObjects: base.sites[0].liveObjects + grow })),
      });
      const a = write('full-a.json', many(0));
      const b = write('full-b.json', many(4096));
      const out = path.join(small, 'd.json');
      const r = spawnSync(KMEMTOP, ['diff', a, b, '--json', '--min-change', '0', '-o', out], { encoding: 'utf8' });
      expect([r.status, r.stderr]).toEqual([1, `kmemtop: cannot write ${out}: ENOSPC\n`]);
      expect(fs.readdirSync(small)).toEqual([]);
      fs.writeFileSync(out, 'old\n');
      expect(spawnSync(KMEMTOP, ['diff', a, b, '--json', '--min-change', '0', '-o', out], { encoding: 'utf8' }).status).toBe(1);
      expect(fs.readFileSync(out, 'utf8')).toBe('old\n');
      expect(fs.readdirSync(small)).toEqual(['d.json']);
      /* stdout on the full disk: one line, exit 1, no stack trace. */
      const so = spawnSync('sh', ['-c', `${KMEMTOP} diff ${a} ${b} --json --min-change 0 > ${small}/stdout.json`], { encoding: 'utf8' });
      expect([so.status, so.stderr]).toEqual([1, 'kmemtop: cannot write the output: ENOSPC\n']);
    } finally {
      spawnSync('umount', [small]);
    }
  });

  it('trusts a directory only when root owns it and nobody else can write it; --mode is octal', () => {
    expect(trustedDir({ uid: 0, mode: 0o40755 })).toBe(true);
    expect(trustedDir({ uid: 0, mode: 0o41777 })).toBe(false);
    expect(trustedDir({ uid: 1000, mode: 0o40755 })).toBe(false);
    expect([parseMode('600'), parseMode('0644'), parseMode('9'), parseMode('rw')]).toEqual([0o600, 0o644, null, null]);
    const r = spawnSync(KMEMTOP, ['diff', 'a', 'b', '--mode', 'rw'], { encoding: 'utf8' });
    expect([r.status, r.stderr]).toEqual([2, 'kmemtop: --mode takes an octal file mode such as 600 or 0644\n']);
  });
});
