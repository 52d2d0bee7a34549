/*
 * What the live figures may claim (pure): cache aliases from /sys/kernel/slab
 * (fixture captured from the real kernel), per-site upper bounds and
 * estimates, accuracy, diff growth beyond phantom bounds, the sweep's
 * fallback wording, and the self_tgids slots.
 */
import * as fs from 'fs';
import * as path from 'path';
import { aliasMap, cacheLabel, matchingAlias, reclaimableNames, SlabEntry } from '../src/sys/slabaliases';
import { boundSites, reconcile } from '../src/model/reconcile';
import { accuracyOf, buildSnapshot, Site, sortSites } from '../src/model/snapshot';
import { diffSites, phantomByGroup } from '../src/model/diff';
import { sweepSupport } from '../src/collect/sweep';
import { withTgid, withoutTgid } from '../src/collect/self';
import { headerLines, renderText, toDocument } from '../src/output/report';
import { renderDiffText, side } from '../src/output/diff';
import { parseSlabinfo } from '../src/sys/slabinfo';
import { FIXTURES, fixtureKallsyms, fixtureRaw } from './helpers/fixtures';

const ctx0 = { task: 0, taskBh: 0, softirq: 0, hardirq: 0, nmi: 0, unknown: 0 };
function site(fn: string, cache: string, liveObjects: number, objectSize = 256, id = 1): Site {
  return {
    id,
    allocator: 'slab',
    function: fn,
    offset: 0x10,
    module: null,
    kind: 'cache',
    cache,
    objectSize,
    allocs: liveObjects,
    frees: 0,
    freesUnseen: 0,
    untrackedAllocs: 0,
    failedAllocs: 0,
    bytesRequested: liveObjects * objectSize,
    bytesAllocated: liveObjects * objectSize,
    liveObjects,
    liveBytes: liveObjects * objectSize,
    liveObjectsUpperBound: false,
    liveObjectsLowerBound: false,
    liveObjectsEstimate: liveObjects,
    liveBytesEstimate: liveObjects * objectSize,
    cacheAliases: [],
    cacheReclaimable: false,
    allocsByContext: { ...ctx0, task: liveObjects },
    freesByContext: ctx0,
  };
}

describe('cache aliases (/sys/kernel/slab, captured)', () => {
  const entries: SlabEntry[] = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'slab-entries.json'), 'utf8'));
  const aliases = aliasMap(entries);

  it('names every cache merged into one slab', () => {
    expect(aliases.get('signal_cache')).toEqual(expect.arrayContaining(['UNIX', 'UNIX-STREAM']));
    expect(aliases.get('UNIX')).toContain('signal_cache');
    /* The unique ":0000056"-style directories are not names. */
    for (const names of aliases.values()) for (const n of names) expect(n.startsWith(':')).toBe(false);
    /* A cache no one merged into has no entry. */
    expect(aliases.has('maple_node')).toBe(false);
  });

  it('shows the alias that matches the function or a frame of its stacks, else the group, never one alias alone', () => {
    expect(matchingAlias('damon_split_region_at', ['ftrace_event_field', 'damon_region'])).toBe('damon_region');
    expect(cacheLabel('ftrace_event_field', 'damon_split_region_at', ['damon_region'])).toBe('damon_region');
    /* A UNIX socket from sk_prot_alloc: nothing in the name says which, so the group (signal_cache, UNIX, UNIX-STREAM). */
    const unix = aliases.get('signal_cache')!;
    expect(cacheLabel('signal_cache', 'sk_prot_alloc', unix)).toBe(`signal_cache|${unix[0]}|+${unix.length - 1}`);
    expect(cacheLabel('signal_cache', 'sk_prot_alloc', ['UNIX'])).toBe('signal_cache|UNIX');
    /* With --stacks its caller says: unix_create1 -> UNIX; copy_process's copy_signal -> signal_cache. */
    expect(cacheLabel('signal_cache', 'sk_prot_alloc', unix, ['sk_alloc', 'unix_create1', '__sys_socket'])).toBe('UNIX');
    expect(cacheLabel('signal_cache', 'copy_signal', unix)).toBe('signal_cache');
    /* A plural in the function names the singular alias: prepare_creds allocates a cred. */
    expect(cacheLabel('pid', 'prepare_creds', ['cred'])).toBe('cred');
    expect(cacheLabel('maple_node', 'mas_preallocate', aliases.get('maple_node'))).toBe('maple_node');
    /* Generic words ("cache") alone do not make a match. */
    expect(matchingAlias('cache_alloc_thing', ['kmem_cache'])).toBeNull();
  });
});

describe('per-site upper bounds where a cache holds fewer objects than tracked', () => {
  const slabs = parseSlabinfo(
    'slabinfo - version: 2.1\n' +
      '# name <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>\n' +
      'maple_node 600 900 256 16 1 : tunables 0 0 0 : slabdata 56 56 0\n' +
      'filp 5000 5100 256 16 1 : tunables 0 0 0 : slabdata 300 300 0\n',
  );
  const sites = [site('mas_preallocate', 'maple_node', 700, 256, 1), site('mas_wr_bnode', 'maple_node', 300, 256, 2), site('alloc_empty_file', 'filp', 4000, 256, 3)];
  const corr = reconcile(sites, slabs);
  const bounded = boundSites(sites, corr);

  it('flags every site of the cache and takes its phantom away in proportion', () => {
    expect(corr.find((c) => c.cache === 'maple_node')!.phantomObjects).toBe(400);
    const [a, b, f] = bounded;
    expect([a.liveObjectsUpperBound, b.liveObjectsUpperBound, f.liveObjectsUpperBound]).toEqual([true, true, false]);
    expect(a.liveObjectsEstimate + b.liveObjectsEstimate).toBe(1000 - 400);
    expect(a.liveObjectsEstimate).toBe(420);
    expect(b.liveObjectsEstimate).toBe(180);
    expect(a.liveBytesEstimate).toBe(420 * 256);
    /* Tracked figures stay as traced; untouched sites are the same objects. */
    expect(a.liveObjects).toBe(700);
    expect(f).toBe(sites[2]);
  });

  it('ranks by the estimate, so a phantom never ranks first', () => {
    const big = site('real_leak', 'filp', 650, 256, 4);
    const order = sortSites([...boundSites([sites[0], sites[1], big], reconcile([sites[0], sites[1], big], slabs))], 'liveBytes');
    expect(order.map((s) => s.function)).toEqual(['real_leak', 'mas_preallocate', 'mas_wr_bnode']);
  });

  it('accuracy: approximate, and the upper-bound objects count in the error', () => {
    const none = { sitesFull: 0, liveFull: 0, liveUpdateFailed: 0, untrackedFrees: 0, siteMissing: 0, freesUnseen: 0, slabGone: 0, stacksLost: 0, detailsLost: 0, pageSitesLost: 0, recursionMisses: 2 };
    const acc = accuracyOf(none, null, bounded, 400);
    expect(acc).toMatchObject({ approximate: true, phantomObjects: 400, upperBoundSites: 2, maxLiveObjectsError: 2 + 1000, sweep: 'on' });
    expect(acc.reasons.join('\n')).toMatch(/400 tracked live objects are dead/);
  });

  it('never says "lost events: none" without the upper bounds beside it', () => {
    const raw = fixtureRaw();
    const syms = fixtureKallsyms();
    const snap = buildSnapshot({ ...raw, lost: { ...raw.lost, freesUnseen: 0 }, recursion: [] }, raw, (ip) => syms.resolve(ip));
    const acc = { ...snap.accuracy, approximate: true, upperBoundSites: 3, phantomObjects: 40, maxLiveObjectsError: 90 };
    const text = headerLines({ ...snap, accuracy: acc, sampling: null }).join('\n');
    expect(text).toMatch(/^lost events: none \(but see the upper bounds below\)$/m);
    expect(text).toMatch(/^upper bounds: 3 sites \(marked <=\)/m);
    expect(text).toMatch(/off by at most 90 objects/);
  });

  it('marks upper bounds "<=" in the text table, with the estimate beside', () => {
    const raw = fixtureRaw();
    const syms = fixtureKallsyms();
    const snap = buildSnapshot(raw, raw, (ip) => syms.resolve(ip));
    const doc = toDocument({ ...snap, sites: [...snap.sites.slice(0, 3), ...bounded] }, { kind: 'snapshot', kernel: 'k', hostname: 'h' }, { sort: 'liveBytes', top: 0 });
    const text = renderText(doc);
    expect(text).toMatch(/EST LIVE/);
    expect(text).toMatch(/<=175KiB +<=700 +~105KiB .* mas_preallocate\+0x10/);
  });
});

describe('diff: growth only beyond what phantoms could explain', () => {
  const caches = [{ cache: 'maple_node', phantomObjects: 300, trackedLiveObjects: 900, slabActiveObjects: 600, slabTotalObjects: 700 }];

  it('a row within its cache phantom bound is uncertain, and not growth', () => {
    const before = [site('mas_preallocate', 'maple_node', 100)];
    const after = [site('mas_preallocate', 'maple_node', 350)];
    const { rows, totals } = diffSites(before, after, phantomByGroup([]), phantomByGroup(caches));
    expect(rows[0]).toMatchObject({ status: 'uncertain', liveObjectsDelta: 250, phantomBoundObjects: 300, certainGrowthBytes: 0 });
    expect(totals.growthBytes).toBe(0);
    expect(totals.uncertainGrowthBytes).toBe(250 * 256);
  });

  it('a real leak shows +N exactly, and grows by what exceeds the bound', () => {
    const before = [site('do_eventfd', 'kmalloc-64', 2, 64)];
    const after = [site('do_eventfd', 'kmalloc-64', 5002, 64)];
    const kmalloc = [{ cache: 'kmalloc-64', phantomObjects: 0, trackedLiveObjects: 5100, slabActiveObjects: 9000, slabTotalObjects: 9200 }];
    const { rows, totals } = diffSites(before, after, phantomByGroup(kmalloc), phantomByGroup(kmalloc));
    expect(rows[0]).toMatchObject({ status: 'changed', liveObjectsDelta: 5000, phantomBoundObjects: 200, certainGrowthBytes: 4800 * 64 });
    expect(totals.growthBytes).toBe(4800 * 64);
  });

  it('growth in reclaimable caches (dentries, inodes) counts apart, not against the gate', () => {
    const dentry = (n: number) => ({ ...site('__d_alloc', 'dentry', n, 192), cacheReclaimable: true });
    const { rows, totals } = diffSites([dentry(10)], [dentry(20010)]);
    expect(rows[0]).toMatchObject({ reclaimable: true, liveObjectsDelta: 20000, certainGrowthBytes: 20000 * 192 });
    expect(totals.growthBytes).toBe(0);
    expect(totals.reclaimableGrowthBytes).toBe(20000 * 192);
    const entries: SlabEntry[] = [
      { name: ':a-0000192', target: null },
      { name: 'dentry', target: null },
      { name: 'ext4_inode_cache', target: null },
      { name: 'some_alias', target: ':a-0000192' },
      { name: 'maple_node', target: null },
    ];
    expect([...reclaimableNames(entries, new Set(['dentry', ':a-0000192']))].sort()).toEqual(['dentry', 'some_alias']);
  });

  it('the header carries both reports accuracy', () => {
    const raw = fixtureRaw();
    const syms = fixtureKallsyms();
    const doc = toDocument(buildSnapshot(raw, raw, (ip) => syms.resolve(ip)), { kind: 'snapshot', kernel: 'k', hostname: 'h' }, { sort: 'liveBytes', top: 0 });
    const withPhantom = { ...doc, accuracy: { ...doc.accuracy, phantomObjects: 12, upperBoundSites: 2, maxLiveObjectsError: 30, approximate: true } };
    const { rows, totals } = diffSites(doc.sites, withPhantom.sites);
    const text = renderDiffText({ tool: 'kmemtop', schemaVersion: 1, kind: 'diff', before: side('a.json', doc), after: side('b.json', withPhantom), totals, rows });
    expect(text).toMatch(/^accuracy: a\.json: no phantom objects; exact; sweep on$/m);
    expect(text).toMatch(/b\.json: 12 phantom objects \(2 sites are upper bounds\); off by at most 30 objects; sweep on$/m);
  });
});

describe('the sweep on kernels without bpf_get_kmem_cache', () => {
  it('is off, and every report says why', () => {
    expect(sweepSupport(true)).toEqual({ available: true, reason: null });
    const off = sweepSupport(false);
    expect(off.available).toBe(false);
    expect(off.reason).toMatch(/^no sweep: this kernel lacks bpf_get_kmem_cache \(Linux 6\.13\+\)/);
    const none = { sitesFull: 0, liveFull: 0, liveUpdateFailed: 0, untrackedFrees: 0, siteMissing: 0, freesUnseen: 0, slabGone: 0, stacksLost: 0, detailsLost: 0, pageSitesLost: 0, recursionMisses: 0 };
    const acc = accuracyOf(none, null, [], 0, off);
    expect(acc.sweep).toBe('off');
    expect(acc.reasons).toContain(off.reason);
    const raw = fixtureRaw();
    const syms = fixtureKallsyms();
    const kernelFacts = { ...raw.kernelFacts, kfuncs: { ...raw.kernelFacts.kfuncs, getKmemCache: false } };
    const snap = buildSnapshot({ ...raw, kernelFacts, sweep: { ...off, runs: 0, last: null } }, raw, (ip) => syms.resolve(ip));
    const text = renderText(toDocument(snap, { kind: 'snapshot', kernel: 'k', hostname: 'h' }, { sort: 'liveBytes', top: 1 }));
    expect(text).toMatch(/^kernel features: sweep: off \(needs Linux 6\.13: bpf_get_kmem_cache\); object ages: off \(needs Linux 6\.13: bpf_get_kmem_cache\);/m);
  });
});

describe('self_tgids slots', () => {
  it('adds into a free slot or the slot of a process that is gone, once', () => {
    const alive = (pid: number) => pid !== 42;
    expect(withTgid([0, 0, 0, 0, 0, 0, 0, 0], 7, alive)).toEqual([7, 0, 0, 0, 0, 0, 0, 0]);
    expect(withTgid([7, 0, 0, 0, 0, 0, 0, 0], 7, alive)).toEqual([7, 0, 0, 0, 0, 0, 0, 0]);
    expect(withTgid([1, 2, 42, 3, 4, 5, 6, 8], 9, alive)).toEqual([1, 2, 9, 3, 4, 5, 6, 8]);
    expect(withTgid([1, 2, 3, 4, 5, 6, 8, 10], 9, alive)).toBeNull();
    expect(withoutTgid([1, 9, 3, 0, 0, 0, 0, 0], 9)).toEqual([1, 0, 3, 0, 0, 0, 0, 0]);
  });
});
