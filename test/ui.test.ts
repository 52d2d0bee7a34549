/* The live view without a terminal: reducer, model and rendering (pure), on a snapshot captured from the real kernel. */
import { buildSnapshot, totalsOf } from '../src/model/snapshot';
import { parseMeminfo } from '../src/sys/meminfo';
import { memoryVerdict } from '../src/model/memreport';
import { initialState, reduce, SORTS, UiState, footerKeys, clampInterval, follow, pin } from '../src/ui/state';
import { buildUiModel, History, viewRows, SiteRow, markBaseline, reportBaseline, siteLabelShort } from '../src/ui/model';
import { batchWidth } from '../src/ui/top';
import { compact, fitMiddle, frameText, helpScrollMax, renderFrame, sparkline } from '../src/ui/render';
import { HELP, helpLines } from '../src/ui/help';
import { fixtureKallsyms, fixtureRaw } from './helpers/fixtures';

const raw = fixtureRaw();
const syms = fixtureKallsyms();
const cur = buildSnapshot(raw, { wallTime: new Date(raw.wallTime.getTime() - 2000), monotonicMs: raw.monotonicMs - 2000 }, (ip) => syms.resolve(ip));
const MEM = parseMeminfo('MemTotal: 1000 kB\nMemFree: 450 kB\nActive(anon): 100 kB\nInactive(anon): 50 kB\nActive(file): 200 kB\nInactive(file): 150 kB\nSReclaimable: 30 kB\nSUnreclaim: 20 kB\n');

/* The "previous" sample: the same sites with half the counts. */
const half = (b: Record<string, number>) => Object.fromEntries(Object.entries(b).map(([k, v]) => [k, Math.floor(v / 2)])) as typeof cur.totals.freesByContext;
const prevSites = cur.sites.map((s) => ({
  ...s,
  allocs: Math.floor(s.allocs / 2),
  frees: Math.floor(s.frees / 2),
  freesUnseen: 0,
  allocsByContext: half(s.allocsByContext),
  freesByContext: half(s.freesByContext),
}));
const prev = { ...cur, sites: prevSites, totals: totalsOf(prevSites) };
const model = buildUiModel(cur, prev, 1000, MEM);
const history = new History();
history.add(model.sites);

const keys = (s: UiState, ...ks: string[]) => ks.reduce((st, k) => reduce(st, k, 100, 10), s);

describe('reducer', () => {
  const s0 = initialState();

  it('quits on q and Ctrl-C', () => {
    expect(reduce(s0, 'q').quit).toBe(true);
    expect(reduce(s0, 'C-c').quit).toBe(true);
  });

  it('moves the selection within the rows', () => {
    expect(keys(s0, 'down', 'j', 'down').selected).toBe(3);
    expect(keys(s0, 'down', 'up', 'k').selected).toBe(0);
    expect(keys(s0, 'G').selected).toBe(99);
    expect(keys(s0, 'G', 'g').selected).toBe(0);
    expect(keys(s0, 'pagedown').selected).toBe(10);
    expect(reduce(s0, 'down', 1).selected).toBe(0);
  });

  it('switches views with Tab, Shift-Tab and 1-4', () => {
    expect(keys(s0, 'tab').view).toBe('caches');
    expect(keys(s0, 'tab', 'tab').view).toBe('shrinkers');
    expect(keys(s0, 'tab', 'tab', 'tab').view).toBe('cgroups');
    expect(keys(s0, 'tab', 'tab', 'tab', 'tab').view).toBe('sites');
    expect(keys(s0, 'S-tab').view).toBe('cgroups');
    expect(keys(s0, '4').view).toBe('cgroups');
    expect(keys(s0, '3').view).toBe('shrinkers');
    expect(keys(s0, 'down', '2')).toMatchObject({ view: 'caches', selected: 0 });
  });

  it('walks the sort columns with s, < and >, reverses with r', () => {
    expect(keys(s0, 's').sort.sites).toBe(SORTS.sites[1]);
    expect(keys(s0, '>', '>').sort.sites).toBe(SORTS.sites[2]);
    expect(keys(s0, '<').sort.sites).toBe(SORTS.sites[SORTS.sites.length - 1]);
    expect(keys(s0, 'r').reverse).toBe(true);
    expect(keys(s0, '2', 's').sort).toMatchObject({ caches: SORTS.caches[1], sites: SORTS.sites[0] });
  });

  it('edits a filter after /, applies on Enter, cancels on Escape', () => {
    const editing = keys(s0, '/', 'm', 'a', 'x', 'backspace', 'p');
    expect(editing.filterEdit).toBe('map');
    expect(footerKeys(editing)).toMatch(/^filter: map_/);
    expect(reduce(editing, 'q').quit).toBe(false); /* q is text while typing */
    expect(keys(editing, 'enter')).toMatchObject({ filter: 'map', filterEdit: null });
    expect(keys(editing, 'escape')).toMatchObject({ filter: '', filterEdit: null });
  });

  it('pauses, opens help and detail, changes the interval within bounds', () => {
    expect(keys(s0, 'p').paused).toBe(true);
    expect(keys(s0, 'space', ' ').paused).toBe(false);
    expect(keys(s0, '?').help).toBe(true);
    expect(keys(s0, 'h', 'x').help).toBe(false);
    expect(keys(s0, 'enter').detail).toBe(true);
    expect(keys(s0, 'enter', 'escape').detail).toBe(false);
    /* + refreshes more often, - less, as the help says. */
    expect(keys(s0, '-').intervalMs).toBe(2000);
    expect(keys(s0, '+', '+', '+', '+').intervalMs).toBe(250);
    expect(keys(s0, ...Array(20).fill('-')).intervalMs).toBe(60000);
    expect(clampInterval(10)).toBe(250);
  });

  it('help scrolls with up/down and PgUp/PgDn, within its length; any other key closes it, q included; Ctrl-C still quits', () => {
    expect(keys(s0, '?', 'q')).toMatchObject({ help: false, quit: false });
    expect(keys(s0, '?', 'C-c').quit).toBe(true);
    const help = (...ks: string[]) => ks.reduce((st, k) => reduce(st, k, 100, 10, { helpMax: 12 }), s0);
    expect(help('?', 'down', 'down', 'j')).toMatchObject({ help: true, helpTop: 3 });
    expect(help('?', 'pagedown', 'pagedown')).toMatchObject({ help: true, helpTop: 12 });
    expect(help('?', 'pagedown', 'up', 'k').helpTop).toBe(8);
    expect(help('?', 'up').helpTop).toBe(0);
    expect(help('?', 'G', 'x')).toMatchObject({ help: false });
    /* At 80x24 the help is longer than the screen: wrapped to the width, scrolled, and it says there is more. */
    const lines = helpLines(80);
    expect(lines.length).toBeGreaterThan(HELP.length);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(80);
    const f0 = frameText(renderFrame(model, help('?'), history, 80, 24));
    expect(f0).toMatch(/^-- more: down\/PgDn \(line \d+ of \d+\) --$/m);
    expect(f0).toMatch(/up\/down PgUp\/PgDn scroll {2}any other key: close help/);
    const max = helpScrollMax(model, s0, 80, 24);
    const end = frameText(renderFrame(model, reduce(help('?'), 'G', 100, 10, { helpMax: max }), history, 80, 24));
    expect(end).not.toMatch(/-- more/);
    expect(end).toContain(lines[lines.length - 1].trim());
  });

  it('c without splits recorded says which flag it needs; keys of top and htop get a hint, once', () => {
    const c = reduce(s0, 'c', 100, 10, { splits: [] });
    expect(c.message).toMatch(/--stacks, --by-cgroup or --by-task/);
    expect(footerKeys(c)).toBe(c.message);
    expect(reduce(c, 'down').message).toBeNull();
    expect(reduce(s0, 'c', 100, 10, { splits: ['cgroups', 'tasks'] })).toMatchObject({ split: 'cgroups', detail: true, message: null });
    expect(reduce(s0, 'P').message).toBe('P: P/M/T sort in top: here s or < > walk the sort columns; ? for help');
    expect(reduce(s0, 'M').message).toMatch(/^M: .*s or < >/);
    expect(reduce(s0, 'Z').message).toBe('Z: not a key here; ? for help');
  });

  it('the selection and the detail pane stay on their row by identity when a refresh re-sorts', () => {
    const opened = pin(keys(s0, 'down', 'down', 'enter'), [10, 11, 12, 13]);
    expect(opened).toMatchObject({ selected: 2, selectedKey: 12, detail: true });
    expect(follow(opened, [12, 10, 13, 11])).toMatchObject({ selected: 0, selectedKey: 12, detail: true });
    /* Gone from the view (filtered out): the position stays, on the row now there. */
    expect(follow(opened, [10, 11, 13])).toMatchObject({ selected: 2, selectedKey: 13 });
    expect(follow({ ...opened, selected: 9 }, [])).toMatchObject({ selected: 0, selectedKey: null });
  });

  it('d asks for the delay in seconds; R reverses like r', () => {
    expect(keys(s0, 'd').delayEdit).toBe('');
    expect(keys(s0, 'd', '2', '.', '5', 'enter')).toMatchObject({ intervalMs: 2500, delayEdit: null });
    expect(keys(s0, 'd', '9', '9', 'enter').intervalMs).toBe(60000);
    expect(keys(s0, 'd', 'x', 'enter').intervalMs).toBe(1000);
    expect(keys(s0, 'd', '3', 'escape')).toMatchObject({ intervalMs: 1000, delayEdit: null });
    expect(footerKeys(keys(s0, 'd', '3'))).toMatch(/^delay \(seconds, 0.25 to 60\): 3_/);
    expect(keys(s0, 'R').reverse).toBe(true);
  });

  it('b marks a baseline (sorted by growth), B clears it', () => {
    const b = keys(s0, 'tab', 'b');
    expect(b).toMatchObject({ baseline: true, markSeq: 1, view: 'sites', sort: { sites: 'growthBytes' } });
    expect(keys(b, 'b').markSeq).toBe(2);
    expect(keys(b, 'B')).toMatchObject({ baseline: false, sort: { sites: 'liveBytes' } });
    expect(footerKeys(b)).toMatch(/B unmark/);
    expect(initialState({ baseline: true }).sort.sites).toBe('growthBytes');
  });

  it('takes --sort and --filter as the starting state', () => {
    expect(initialState({ sort: 'allocsPerSec', filter: 'skb', intervalMs: 500 })).toMatchObject({ filter: 'skb', intervalMs: 500, sort: { sites: 'allocsPerSec' } });
  });
});

describe('model', () => {
  it('computes rates from the deltas over the measured period', () => {
    const ev = model.sites.find((r) => r.site.function === 'do_eventfd')!;
    const s = cur.sites.find((x) => x.function === 'do_eventfd')!;
    expect(ev.allocsPerSec).toBeCloseTo(s.allocs - Math.floor(s.allocs / 2), 5);
    expect(ev.bytesPerSec).toBeCloseTo(ev.allocsPerSec * s.objectSize, 5);
    expect(ev.fragmentation).toBeCloseTo(1 - s.bytesRequested / s.bytesAllocated, 5);
    expect(buildUiModel(cur, prev, 0, MEM).sites[0].allocsPerSec).toBe(0);
  });

  it('groups sites by cache, with the slabinfo bound', () => {
    const maple = model.caches.find((c) => c.cache === 'maple_node');
    if (maple) {
      expect(maple.sites).toBe(model.sites.filter((r) => r.cache === 'maple_node').length);
      expect(maple.slabActive).not.toBeNull();
    }
    expect(model.caches.reduce((n, c) => n + c.liveObjects, 0)).toBe(cur.totals.liveObjects);
  });

  it('filters and sorts the rows of a view', () => {
    const s = { ...initialState(), filter: 'EVENTFD' };
    const rows = viewRows(model, s) as SiteRow[];
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => /eventfd/i.test(r.site.function + r.cache))).toBe(true);
    const all = viewRows(model, initialState()) as SiteRow[];
    for (let i = 1; i < all.length; i++) expect(all[i - 1].liveBytes).toBeGreaterThanOrEqual(all[i].liveBytes);
    const rev = viewRows(model, { ...initialState(), reverse: true }) as SiteRow[];
    expect(rev[0].liveBytes).toBe(all[all.length - 1].liveBytes);
  });

  it('says which memory dominates', () => {
    expect(memoryVerdict(MEM).text).toBe('LRU dominates (91%): almost certainly user space');
    expect(memoryVerdict({ ...MEM, slabReclaimableKb: 10000 }).text).toMatch(/^slab dominates \(\d+%\): look in the kernel$/);
  });
});

describe('rendering', () => {
  const frame = (s: UiState, w = 80, h = 24) => renderFrame(model, s, history, w, h);

  it('fills exactly the terminal, at 80x24 and larger', () => {
    for (const [w, h] of [[80, 24], [132, 40], [200, 60]]) {
      const f = frame(initialState(), w, h);
      expect(f.lines).toHaveLength(h);
      for (const l of f.lines) expect(l.text.length).toBeLessThanOrEqual(w);
    }
  });

  it('shows the header: rates, memory verdict, losses, tabs; the footer keys', () => {
    const t = frameText(frame(initialState()));
    expect(t).toMatch(/^kmemtop \d+s {2}live \S+ \S+ obj {2}alloc \S+\/s {2}free \S+\/s \(irq \d+%\)/);
    expect(t).toMatch(/LRU dominates \(91%\)/);
    expect(t).toMatch(/^lost events: none/m);
    expect(t).toMatch(/\[1:sites\]/);
    expect(t).toMatch(/^q quit {2}\? help/m);
  });

  it('marks the sort column, the selection, and highlights losses', () => {
    const f = frame(keys(initialState(), 'down'));
    expect(f.lines[4].text).toMatch(/LIVE BYTES v/);
    expect(f.lines.filter((l) => l.style === 'selected')).toHaveLength(1);
    expect(f.lines[6].style).toBe('selected');
    const lossy = buildUiModel({ ...cur, lost: { ...cur.lost, recursionMisses: 3 }, accuracy: { ...cur.accuracy, maxLiveObjectsError: 3 } }, prev, 1000, MEM);
    const lf = renderFrame(lossy, initialState(), history, 80, 24);
    expect(lf.lines[2]).toEqual({ text: expect.stringMatching(/^LOST EVENTS: recursion 3: live figures approximate \(\+\/-3 objects\)/), style: 'alert' });
  });

  it('says in the header what is off on this kernel, and nothing when all is on', () => {
    expect(frameText(frame(initialState()))).not.toMatch(/off on this kernel/);
    const off = [{ name: 'sweep', on: false, needs: 'Linux 6.13: bpf_get_kmem_cache' }, { name: 'contexts', on: true, needs: null }];
    const f = renderFrame(buildUiModel({ ...cur, kernelFeatures: off }, prev, 1000, MEM), initialState(), history, 120, 24);
    expect(f.lines[3].text).toMatch(/^off on this kernel: sweep \(needs Linux 6\.13: bpf_get_kmem_cache\)/);
  });

  it('drops columns that do not fit, never the call site or the sort column', () => {
    const narrow = frameText(frame({ ...initialState(), sort: { ...initialState().sort, sites: 'avgSize' } }, 80, 24));
    expect(narrow).toMatch(/AVG v/);
    expect(narrow).toMatch(/CALL SITE/);
    /* No site of this kernel is in a module: no MODULE column at any width; with one, at a wide one. */
    expect(frameText(frame(initialState(), 200, 24))).not.toMatch(/MODULE/);
    const withModule = buildUiModel({ ...cur, sites: cur.sites.map((x, i) => (i === 0 ? { ...x, module: 'ext4' } : x)) }, prev, 1000, MEM);
    expect(frameText(renderFrame(withModule, initialState(), history, 200, 24))).toMatch(/MODULE/);
    expect(frameText(renderFrame(withModule, initialState(), history, 80, 24))).not.toMatch(/MODULE/);
  });

  it('never cuts a call site on screen while another column can go; cuts in the middle only below its width', () => {
    for (const [w, h] of [[80, 24], [120, 40]]) {
      const lines = frame(initialState(), w, h).lines.slice(5, h - 1);
      const shown = viewRows(model, initialState()).slice(0, lines.length) as SiteRow[];
      const names = shown.map((r) => siteLabelShort(r.site));
      /* Whole, or whole and then its cache where rows would read alike (CACHE dropped at 80 columns). */
      names.forEach((n, i) => expect(lines[i].text.trimEnd().endsWith(n) || lines[i].text.trimEnd().endsWith(`${n} [${shown[i].cacheLabel}]`)).toBe(true));
    }
    expect(fitMiddle('mas_new_ma_node.isra.0+0x2c', 15)).toBe('mas_new….0+0x2c');
    expect(fitMiddle('kfree+0x1', 12)).toBe('kfree+0x1   ');
  });

  it('batch frames: no tabs, no key footer, whole names at any width', () => {
    const t = frameText(renderFrame(model, initialState(), history, 100_000, 30, true));
    expect(t).toMatch(/^view sites {2}sort liveBytes$/m);
    /* A cache name longer than its column (ext4_allocation_context, seen by CI) is whole when there is room; frames still fit their width. */
    const longName = 'ext4_allocation_context';
    const named = buildUiModel({ ...cur, sites: cur.sites.map((x) => ({ ...x, cache: longName })) }, prev, 1000, MEM);
    expect((viewRows(named, initialState())[0] as SiteRow).cache).toBe(longName);
    expect(frameText(renderFrame(named, initialState(), history, 100_000, 30, true))).toContain(longName);
    expect(frameText(renderFrame(named, initialState(), history, 100_000, 30, true))).not.toMatch(/…/);
    for (const w of [80, 132, 200]) for (const l of renderFrame(named, initialState(), history, w, 30).lines) expect(l.text.length).toBeLessThanOrEqual(w);
    expect(t).not.toMatch(/\[1:sites\]|q quit/);
    expect(batchWidth({ COLUMNS: '132' }, false, undefined)).toBe(132);
    expect(batchWidth({}, true, 90)).toBe(90);
    expect(batchWidth({}, false, undefined)).toBe(100_000);
  });

  it('a baseline: growth columns, a site new since the mark counts whole, the header says since when', () => {
    const marked = markBaseline(buildUiModel({ ...cur, sites: cur.sites.slice(1) }, null, 1000, MEM), 'since 12:00:00');
    const m = buildUiModel(cur, prev, 1000, MEM, null, marked);
    const st = keys(initialState(), 'b');
    const t = frameText(renderFrame(m, st, history, 120, 40));
    expect(t).toMatch(/^\+LIVE BYTES v \+LIVE OBJS +LIVE BYTES/m);
    expect(t).toMatch(/ since 12:00:00 /);
    const fresh = m.sites.find((r) => r.key === cur.sites[0].id)!;
    expect([fresh.growthObjects, fresh.growthBytes]).toEqual([fresh.liveObjects, fresh.liveBytes]);
    for (const r of m.sites.filter((x) => x.key !== cur.sites[0].id)) expect(r.growthObjects).toBe(0);
    /* From a saved report: matched by function, module and cache; a key's figure counted once. */
    const fromFile = buildUiModel(cur, prev, 1000, MEM, null, reportBaseline(cur.sites, 'since before.json'));
    expect(fromFile.sites.reduce((n, r) => n + r.growthObjects, 0)).toBe(0);
  });

  it('says so when no shrinker was called yet', () => {
    const none = buildUiModel({ ...cur, shrinkers: cur.shrinkers!.map((x) => ({ ...x, calls: 0 })) }, prev, 1000, MEM);
    expect(frameText(renderFrame(none, keys(initialState(), '3'), history, 100, 24))).toMatch(/shrinkers: none called yet/);
  });

  it('shows the detail pane: contexts, sizes, sparkline', () => {
    const t = frameText(frame(keys(initialState(), 'enter'), 120, 30));
    expect(t).toMatch(/^allocs \S+ \(task /m);
    expect(t).toMatch(/^frees {2}\S+ \(task /m);
    expect(t).toMatch(/lost to rounding/);
    expect(t).toMatch(/live bytes over the session: [▁-█]+ now/);
  });

  it('shows the caches and shrinkers views, and help', () => {
    expect(frameText(frame(keys(initialState(), '2')))).toMatch(/PHANTOM/);
    const sh = frameText(frame(keys(initialState(), '3'), 120, 30));
    expect(sh).toMatch(/ASKED +FREED v/);
    expect(sh).toMatch(/super_cache_scan \(ext4/);
    expect(frameText(frame(keys(initialState(), '?')))).toContain(HELP[0]);
  });

  it('keeps a ring of live bytes per site, oldest first', () => {
    const h = new History();
    const row = (key: number, liveBytes: number) => ({ key, liveBytes }) as SiteRow;
    for (let i = 0; i < 70; i++) h.add(i < 65 ? [row(1, i)] : [row(1, i), row(2, 100 + i)]);
    expect(h.get(1)).toEqual(Array.from({ length: 60 }, (_, i) => 10 + i));
    expect(h.get(2)).toEqual([165, 166, 167, 168, 169]);
    expect(h.get(3)).toEqual([]);
  });

  it('formats numbers compactly and draws sparklines', () => {
    expect([compact(999), compact(12345), compact(123456), compact(1.5e6), compact(2e9)]).toEqual(['999', '12.3k', '123k', '1.5M', '2.0G']);
    expect(sparkline([0, 1, 2, 3, 4, 5, 6, 7], 8)).toBe('▁▂▃▄▅▆▇█');
    expect(sparkline([5, 5], 8)).toBe('▁▁');
    expect(sparkline([], 8)).toBe('');
  });
});

describe('model reuse across refreshes', () => {
  it('keeps the row of a site whose counters did not move and that was idle; builds new rows otherwise', () => {
    /* The collector hands back the same RawSite objects for unchanged sites: the snapshot reuses their Sites. */
    const again = buildSnapshot(raw, { wallTime: new Date(raw.wallTime.getTime() - 2000), monotonicMs: raw.monotonicMs - 2000 }, (ip) => syms.resolve(ip));
    expect(again.sites.every((s, i) => s === cur.sites[i])).toBe(true);
    const first = buildUiModel(cur, prev, 1000, MEM);
    const idle = buildUiModel(again, cur, 1000, MEM, first);
    /* Idle now, but the rows of the previous period showed activity: new rows, with zero rates. */
    const active = first.sites.filter((r) => r.allocsPerSec > 0 || r.freesPerSec > 0);
    expect(active.length).toBeGreaterThan(0);
    for (const r of active) {
      const now = idle.sites.find((x) => x.key === r.key)!;
      expect(now).not.toBe(r);
      expect([now.allocsPerSec, now.freesPerSec, now.bytesPerSec]).toEqual([0, 0, 0]);
    }
    /* Idle twice: the very same row objects. */
    const idle2 = buildUiModel(again, again, 1000, MEM, idle);
    expect(idle2.sites.every((r, i) => r === idle.sites[i])).toBe(true);
    /* A changed site (a new RawSite object) gets a new row with its rate. */
    const moved = { ...raw, sites: raw.sites.map((r, i) => (i === 0 ? { ...r, stats: { ...r.stats, allocs: { ...r.stats.allocs, task: r.stats.allocs.task + 50 } } } : r)) };
    const snapMoved = buildSnapshot(moved, { wallTime: new Date(raw.wallTime.getTime() - 2000), monotonicMs: raw.monotonicMs - 2000 }, (ip) => syms.resolve(ip));
    const busy = buildUiModel(snapMoved, again, 1000, MEM, idle2);
    const row = busy.sites.find((r) => r.key === raw.sites[0].idx)!;
    expect(row.allocsPerSec).toBe(50);
    expect(busy.sites.filter((r, i) => r !== idle2.sites[i]).map((r) => r.key)).toEqual([raw.sites[0].idx]);
  });
});
