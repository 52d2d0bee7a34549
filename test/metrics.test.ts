/*
 * The metrics of kmemtop serve (pure), on a snapshot captured from the real
 * kernel: names in Prometheus style, bounded cardinality (top N sites plus
 * one "other" series that keeps the totals whole), a site that drops out of
 * the top N is gone from the next scrape, content negotiation.
 */
import { buildSnapshot } from '../src/model/snapshot';
import { metricFamilies, OTHER, SeriesBook } from '../src/output/metrics';
import { MetricsExporter, negotiate } from '../src/serve/exporter';
import { parseListen } from '../src/serve/server';
import { fixtureKallsyms, fixtureRaw } from './helpers/fixtures';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.join(__dirname, '..');

const raw = fixtureRaw();
const syms = fixtureKallsyms();
const snap = buildSnapshot(raw, { wallTime: new Date(raw.wallTime.getTime() - 2000), monotonicMs: raw.monotonicMs - 2000 }, (ip) => syms.resolve(ip));
const self = { residentBytes: 50 << 20, scrapes: 1 };
const fam = (top: number, name: string) => metricFamilies(snap, top, self).find((f) => f.name === name)!;
const sum = (top: number, name: string) => fam(top, name).samples.reduce((n, s) => n + s.value, 0);

describe('metric families', () => {
  it('names: base units, _total for counters, every family on every scrape', () => {
    const all = metricFamilies(snap, 10, self);
    for (const f of all) {
      expect(f.name).toMatch(/^kmemtop_[a-z_]+$/);
      expect(f.name.endsWith('_total')).toBe(f.type === 'counter');
    }
    expect(all.map((f) => f.name)).toEqual(metricFamilies({ ...snap, sites: [], caches: null, shrinkers: null, reclaim: null }, 10, self).map((f) => f.name));
  });

  it('the top N sites by live bytes, the rest as one function="other" series, totals whole', () => {
    expect(snap.sites.length).toBeGreaterThan(10);
    const live = fam(10, 'kmemtop_site_live_bytes');
    /* Sites of one function with one cache (two call sites in it) are one series: at most 10 + "other". */
    expect(live.samples.length).toBeLessThanOrEqual(11);
    expect(live.samples.length).toBeGreaterThan(5);
    expect(new Set(live.samples.map((s) => JSON.stringify(s.labels))).size).toBe(live.samples.length);
    expect(live.samples.filter((s) => s.labels.function === OTHER).length).toBe(1);
    for (const name of ['kmemtop_site_live_bytes', 'kmemtop_site_live_objects', 'kmemtop_site_allocations_total', 'kmemtop_site_allocated_bytes_total']) {
      expect([name, sum(10, name)]).toEqual([name, sum(0, name)]);
    }
    expect(sum(0, 'kmemtop_site_allocations_total')).toBe(snap.totals.allocs);
    expect(fam(0, 'kmemtop_site_live_bytes').samples.some((s) => s.labels.function === OTHER)).toBe(false);
  });

  it('accuracy is exported: losses by cause, phantoms, sampling', () => {
    expect(fam(10, 'kmemtop_lost_events_total').samples.map((s) => s.labels.cause)).toEqual(Object.keys(snap.lost));
    expect(sum(10, 'kmemtop_phantom_objects')).toBe(snap.totals.phantomObjects);
    expect(sum(10, 'kmemtop_sampling_one_in')).toBe(1);
  });
});

describe('exporter', () => {
  it('Prometheus text by default, OpenMetrics when asked', async () => {
    expect(negotiate(undefined)).toBe('prometheus');
    expect(negotiate('application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1')).toBe('openmetrics');
    const e = new MetricsExporter();
    const fams = metricFamilies(snap, 5, self);
    const text = await e.render(fams, 'prometheus');
    expect(text).toMatch(/^# TYPE kmemtop_site_allocations_total counter$/m);
    const om = await e.render(fams, 'openmetrics');
    expect(om).toMatch(/^# TYPE kmemtop_site_allocations counter$/m);
    expect(om.endsWith('# EOF\n')).toBe(true);
    /* Rendering OpenMetrics did not rename the Prometheus registry's counters. */
    expect(await e.render(fams, 'prometheus')).toMatch(/^# TYPE kmemtop_site_allocations_total counter$/m);
  });

  it('sites rotating through the top N: every counter series only goes up, a site keeps its series, totals stay whole; --max-series caps them', () => {
    const book = new SeriesBook(1000);
    const last = new Map<string, number>();
    const seen = new Set<string>();
    for (let round = 0; round < 20; round++) {
      /* Each round another 3 sites lead by live bytes, and every site allocates more. */
      const sites = snap.sites.map((x, i) => ({ ...x, liveBytes: (i + round * 3) % snap.sites.length < 3 ? 1e9 - i : i, liveBytesEstimate: (i + round * 3) % snap.sites.length < 3 ? 1e9 - i : i, allocs: x.allocs + round * (i + 1), bytesAllocated: x.bytesAllocated + round * (i + 1) * x.objectSize }));
      const fams = metricFamilies({ ...snap, sites }, 3, self, book);
      for (const f of fams.filter((x) => x.type === 'counter')) {
        for (const x of f.samples) {
          const k = `${f.name}${JSON.stringify(x.labels)}`;
          expect([k, x.value >= (last.get(k) ?? 0)]).toEqual([k, true]);
          last.set(k, x.value);
          if (f.name === 'kmemtop_site_allocations_total') seen.add(k);
        }
      }
      const allocs = fams.find((f) => f.name === 'kmemtop_site_allocations_total')!;
      /* Every series seen so far is still there, and they sum to every allocation. */
      for (const k of seen) expect(allocs.samples.some((x) => `${allocs.name}${JSON.stringify(x.labels)}` === k)).toBe(true);
      expect(allocs.samples.reduce((n, x) => n + x.value, 0)).toBe(sites.reduce((n, x) => n + x.allocs, 0));
    }
    expect(book.capped).toBe(false);
    const small = new SeriesBook(4);
    const fams = metricFamilies(snap, 10, self, small);
    expect(small.promoted).toBe(4);
    expect(fams.find((f) => f.name === 'kmemtop_series_capped')!.samples[0].value).toBe(1);
    expect(fams.find((f) => f.name === 'kmemtop_sites_exported')!.samples[0].value).toBe(4);
  });

  it('--listen addresses', () => {
    expect(parseListen('127.0.0.1:9713')).toEqual({ host: '127.0.0.1', port: 9713 });
    expect(parseListen('[::1]:80')).toEqual({ host: '::1', port: 80 });
    for (const bad of ['localhost', ':9713', '1.2.3.4:0', '1.2.3.4:70000', '::1:80']) expect([bad, parseListen(bad)]).toEqual([bad, null]);
  });
});

describe('what docs/serve.md and contrib/ give users', () => {
  let dir: string;
  beforeAll(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kmemtop-docs-'))));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('the PromQL examples parse (promtool check rules)', () => {
    const doc = fs.readFileSync(path.join(ROOT, 'docs', 'serve.md'), 'utf8');
    const block = doc.slice(doc.indexOf('Queries:') + 'Queries:'.length, doc.indexOf('Alert rules:'));
    const queries = block
      .split(/\n\s*\n/)
      .map((b) => b.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')).join(' '))
      .filter(Boolean);
    expect(queries.length).toBe(4);
    const rules = path.join(dir, 'rules.yml');
    fs.writeFileSync(rules, 'groups:\n  - name: docs\n    rules:\n' + queries.map((q, i) => `      - record: kmemtop:docs_example_${i}\n        expr: ${JSON.stringify(q)}\n`).join(''));
    const r = spawnSync('promtool', ['check', 'rules', rules], { encoding: 'utf8' });
    expect([r.status, r.stderr]).toEqual([0, '']);
  });

  it('contrib/prometheus/kmemtop-rules.yml: every alert fires on what it is for and not on what it is not (promtool test rules)', () => {
    const rulesDir = path.join(ROOT, 'contrib', 'prometheus');
    const check = spawnSync('promtool', ['check', 'rules', 'kmemtop-rules.yml'], { cwd: rulesDir, encoding: 'utf8' });
    expect([check.status, check.stdout]).toEqual([0, expect.stringMatching(/SUCCESS: 5 rules found/)]);
    const test = spawnSync('promtool', ['test', 'rules', 'kmemtop-rules.test.yml'], { cwd: rulesDir, encoding: 'utf8' });
    expect([test.status, test.stdout + test.stderr]).toEqual([0, expect.stringMatching(/SUCCESS/)]);
    /* Every rule has a test. */
    const rules = fs.readFileSync(path.join(rulesDir, 'kmemtop-rules.yml'), 'utf8');
    const tests = fs.readFileSync(path.join(rulesDir, 'kmemtop-rules.test.yml'), 'utf8');
    const names = [...rules.matchAll(/^\s+- alert: (\w+)$/gm)].map((m) => m[1]);
    expect(names.length).toBe(5);
    for (const n of names) expect([n, tests.includes(`alertname: ${n}`)]).toEqual([n, true]);
  });

  it('contrib/kmemtop.service passes systemd-analyze verify', () => {
    const unit = fs.readFileSync(path.join(ROOT, 'contrib', 'kmemtop.service'), 'utf8').replace('/opt/kmemtop/bin/kmemtop', path.join(ROOT, 'bin', 'kmemtop'));
    const file = path.join(dir, 'kmemtop.service');
    fs.writeFileSync(file, unit);
    const r = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
    expect([r.status, r.stderr.trim()]).toEqual([0, '']);
  });
});
