/* diff (pure) and report loading, on the report captured from the real kernel. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { diffSites, filterSites } from '../src/model/diff';
import { buildSnapshot } from '../src/model/snapshot';
import { toDocument, renderJson } from '../src/output/report';
import { checkReport, loadReport } from '../src/output/load';
import { renderDiffText, side } from '../src/output/diff';
import { KmemtopError } from '../src/errors';
import { fixtureKallsyms, fixtureRaw } from './helpers/fixtures';

const raw = fixtureRaw();
const syms = fixtureKallsyms();
const snap = buildSnapshot(raw, raw, (ip) => syms.resolve(ip));
const doc = toDocument(snap, { kind: 'snapshot', kernel: '6.18.44', hostname: 'vm' }, { sort: 'liveBytes', top: 0 });

describe('diff', () => {
  const grown = doc.sites.map((s) =>
    s.function === 'do_eventfd' ? { ...s, liveObjects: s.liveObjects + 1000, liveBytes: s.liveBytes + 1000 * s.objectSize, allocs: s.allocs + 1000 } : s,
  );

  it('finds the growth at the site, by symbol', () => {
    const { rows, totals } = diffSites(doc.sites, grown);
    expect(rows[0]).toMatchObject({ function: 'do_eventfd', status: 'changed', liveObjectsDelta: 1000, allocsDelta: 1000 });
    expect(totals.liveObjectsDelta).toBe(1000);
    expect(totals.growthBytes).toBe(rows[0].liveBytesDelta);
    expect(rows.filter((r) => r.status === 'same')).toHaveLength(rows.length - 1);
  });

  it('matches across kernels by function, module and cache, not offset; shows new and gone sites', () => {
    const moved = doc.sites.map((s) => ({ ...s, offset: s.offset + 0x10 }));
    expect(diffSites(doc.sites, moved).rows.every((r) => r.status === 'same')).toBe(true);
    const before = [{ function: 'a', module: null, cache: 'c', liveBytes: 10, liveObjects: 1, allocs: 1 }];
    const after = [{ function: 'b', module: 'm', cache: 'c', liveBytes: 20, liveObjects: 2, allocs: 2 }];
    const { rows } = diffSites(before, after);
    expect(rows.map((r) => [r.function, r.status, r.liveBytesDelta])).toEqual([
      ['b', 'new', 20],
      ['a', 'gone', -10],
    ]);
  });

  it('sums the sites of one function and cache', () => {
    const two = [
      { function: 'f', module: null, cache: 'c', liveBytes: 10, liveObjects: 1, allocs: 1 },
      { function: 'f', module: null, cache: 'c', liveBytes: 5, liveObjects: 1, allocs: 1 },
    ];
    expect(diffSites([], two).rows).toEqual([expect.objectContaining({ function: 'f', liveBytesDelta: 15, liveObjectsDelta: 2 })]);
  });

  it('focuses on a module or on matching functions', () => {
    const sites = [
      { function: 'xfs_alloc', module: 'xfs' },
      { function: 'kmalloc_foo', module: null },
    ];
    expect(filterSites(sites, { module: 'xfs' })).toEqual([sites[0]]);
    expect(filterSites(sites, { match: /^kmalloc/ })).toEqual([sites[1]]);
    expect(filterSites(sites, {})).toEqual(sites);
  });

  it('renders a text table with signed changes', () => {
    const { rows, totals } = diffSites(doc.sites, grown);
    const t = renderDiffText({ tool: 'kmemtop', schemaVersion: 1, kind: 'diff', before: side('a.json', doc), after: side('b.json', doc), totals, rows: rows.slice(0, 3) });
    expect(t).toMatch(/live objects \+1,000/);
    expect(t).toMatch(/\+1,000 +\+1,000 +changed +kmalloc-\d+ +do_eventfd$/m);
  });
});

describe('loading reports', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kmemtop-load-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, text: string) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, text);
    return f;
  };

  it('reads back what --json wrote', () => {
    expect(loadReport(write('ok.json', renderJson(doc))).sites).toHaveLength(doc.sites.length);
  });

  it.each([
    ['empty.json', '', /empty file/],
    ['trunc.json', renderJson(doc).slice(0, 200), /invalid or truncated JSON/],
    ['foreign.json', '{"tool":"other"}', /not a kmemtop report/],
    ['newer.json', JSON.stringify({ ...doc, schemaVersion: 99 }), /schema version 99 is newer/],
    ['nosites.json', JSON.stringify({ ...doc, sites: undefined }), /incomplete/],
  ])('%s: one line, exit code 2', (name, text, msg) => {
    let err: unknown;
    try {
      loadReport(write(name, text));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KmemtopError);
    expect((err as KmemtopError).exitCode).toBe(2);
    expect((err as Error).message).toMatch(msg);
    expect((err as Error).message.split('\n')).toHaveLength(1);
  });

  it('a missing file', () => {
    expect(() => loadReport(path.join(dir, 'nope.json'))).toThrow(/cannot read: ENOENT/);
    expect(() => checkReport('x', null)).toThrow(/not a kmemtop report/);
  });
});
