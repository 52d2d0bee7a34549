/*
 * Rendering of the live view (pure): model + state + terminal size -> the
 * lines of one frame.  The screen layer only paints them; batch mode prints
 * them.  Columns that do not fit are dropped, least important first; the
 * call site always gets what is left.
 */
import { byContext, bytes, duration, printable } from '../output/format';
import { ageText, siteLabel } from '../output/report';
import { helpLines } from './help';
import { footerKeys, Split, UiState, VIEWS } from './state';
import { CacheRow, CgroupViewRow, History, ShrinkerRow, SiteRow, siteLabelShort, siteSplits, UiModel, viewRows } from './model';
import type { Site } from '../model/site';

export type Style = 'normal' | 'alert' | 'heading' | 'selected' | 'dim';
export interface Line {
  text: string;
  style: Style;
}
export interface Frame {
  lines: Line[];
}

/* 1234 -> "1234", 12345 -> "12.3k", 1.2e6 -> "1.2M" */
export function compact(n: number): string {
  const a = Math.abs(n);
  if (a < 10000) return String(Math.round(n));
  if (a < 1e6) return `${(n / 1e3).toFixed(a < 1e5 ? 1 : 0)}k`;
  if (a < 1e9) return `${(n / 1e6).toFixed(a < 1e8 ? 1 : 0)}M`;
  return `${(n / 1e9).toFixed(1)}G`;
}

interface Column<R> {
  title: string;
  width: number;
  /* Lower is more important; dropped from the highest when space runs out. */
  priority: number;
  sortKey?: string;
  right: boolean;
  cell: (r: R) => string;
  /* Drawn only when some row has something to show in it (MODULE on a kernel without modules). */
  shownIf?: (r: R) => boolean;
}

const signed = (n: number, f: (x: number) => string) => (n > 0 ? `+${f(n)}` : n < 0 ? `-${f(-n)}` : '0');

/* With a baseline (b, --baseline): growth since it, first. */
const GROWTH_COLUMNS: Column<SiteRow>[] = [
  { title: '+LIVE BYTES', width: 11, priority: 0, sortKey: 'growthBytes', right: true, cell: (r) => signed(Math.round(r.growthBytes), bytes) },
  { title: '+LIVE OBJS', width: 10, priority: 1, sortKey: 'growthObjects', right: true, cell: (r) => signed(Math.round(r.growthObjects), compact) },
];

/* The mark before a live figure: "~" an estimate below an upper bound, ">=" a lower bound, "?" both (off either way). */
const liveMark = (r: SiteRow) => (r.liveUpperBound ? (r.liveLowerBound ? '?' : '~') : r.liveLowerBound ? '>=' : '');

const SITE_COLUMNS: Column<SiteRow>[] = [
  /* An estimate below an upper bound carries "~" (Enter shows both); a lower bound (live table full) ">=". */
  { title: 'LIVE BYTES', width: 11, priority: 0, sortKey: 'liveBytes', right: true, cell: (r) => (liveMark(r) || (r.mixedSizes ? '~' : '')) + bytes(r.liveBytes) },
  { title: 'LIVE OBJS', width: 10, priority: 1, sortKey: 'liveObjects', right: true, cell: (r) => liveMark(r) + compact(r.liveObjects) },
  { title: 'ALLOC/s', width: 8, priority: 2, sortKey: 'allocsPerSec', right: true, cell: (r) => compact(r.allocsPerSec) },
  { title: 'FREE/s', width: 8, priority: 3, sortKey: 'freesPerSec', right: true, cell: (r) => compact(r.freesPerSec) },
  { title: 'BYTES/s', width: 9, priority: 6, sortKey: 'bytesPerSec', right: true, cell: (r) => bytes(Math.round(r.bytesPerSec)) },
  { title: 'AVG', width: 7, priority: 7, sortKey: 'avgSize', right: true, cell: (r) => compact(r.avgSize) },
  { title: 'FRAG%', width: 6, priority: 5, sortKey: 'fragmentation', right: true, cell: (r) => String(Math.round(100 * r.fragmentation)) },
  { title: 'ALLOCS', width: 9, priority: 9, sortKey: 'allocs', right: true, cell: (r) => compact(r.allocs) },
  { title: 'CACHE', width: 17, priority: 4, right: false, cell: (r) => r.cacheLabel },
  { title: 'MODULE', width: 10, priority: 8, right: false, cell: (r) => r.module || '-', shownIf: (r) => r.module !== '' },
];

const CACHE_COLUMNS: Column<CacheRow>[] = [
  { title: 'LIVE BYTES', width: 11, priority: 0, sortKey: 'liveBytes', right: true, cell: (r) => bytes(r.liveBytes) },
  { title: 'LIVE OBJS', width: 10, priority: 1, sortKey: 'liveObjects', right: true, cell: (r) => compact(r.liveObjects) },
  { title: 'ALLOC/s', width: 8, priority: 2, sortKey: 'allocsPerSec', right: true, cell: (r) => compact(r.allocsPerSec) },
  { title: 'FREE/s', width: 8, priority: 3, sortKey: 'freesPerSec', right: true, cell: (r) => compact(r.freesPerSec) },
  { title: 'SLAB ACTIVE', width: 12, priority: 5, right: true, cell: (r) => (r.slabActive === null ? '-' : compact(r.slabActive)) },
  { title: 'PHANTOM', width: 9, priority: 4, sortKey: 'phantomObjects', right: true, cell: (r) => compact(r.phantomObjects) },
  { title: 'SITES', width: 7, priority: 6, sortKey: 'sites', right: true, cell: (r) => String(r.sites) },
];

const CGROUP_COLUMNS: Column<CgroupViewRow>[] = [
  { title: 'LIVE BYTES', width: 11, priority: 0, sortKey: 'liveBytes', right: true, cell: (r) => (r.liveUpperBound ? '<=' : '') + bytes(r.liveBytes) },
  { title: 'LIVE OBJS', width: 10, priority: 1, sortKey: 'liveObjects', right: true, cell: (r) => (r.liveUpperBound ? '<=' : '') + compact(r.liveObjects) },
  { title: 'ALLOC/s', width: 8, priority: 2, sortKey: 'allocsPerSec', right: true, cell: (r) => compact(r.allocsPerSec) },
  { title: 'ALLOCS', width: 9, priority: 4, sortKey: 'allocs', right: true, cell: (r) => compact(r.allocs) },
  { title: 'SITES', width: 6, priority: 5, sortKey: 'sites', right: true, cell: (r) => String(r.sites) },
  { title: 'TOP SITE', width: 30, priority: 3, right: false, cell: (r) => r.topSite ?? '-' },
];

const SHRINKER_COLUMNS: Column<ShrinkerRow>[] = [
  { title: 'CALLS', width: 8, priority: 2, sortKey: 'calls', right: true, cell: (r) => compact(r.calls) },
  { title: 'ASKED', width: 9, priority: 0, sortKey: 'requested', right: true, cell: (r) => compact(r.requested) },
  { title: 'FREED', width: 9, priority: 1, sortKey: 'freed', right: true, cell: (r) => compact(r.freed) },
  { title: 'FREED%', width: 7, priority: 3, sortKey: 'unfreed', right: true, cell: (r) => (r.requested ? String(Math.round((100 * r.freed) / r.requested)) : '-') },
  { title: 'TIME', width: 9, priority: 4, sortKey: 'timeNs', right: true, cell: (r) => duration(r.timeNs, true) },
  { title: 'NS/FREED', width: 8, priority: 5, right: true, cell: (r) => (r.nsPerFreed === null ? '-' : compact(r.nsPerFreed)) },
  { title: 'IN CACHE', width: 8, priority: 6, right: true, cell: (r) => compact(r.objects) },
];

function fit(raw: string, width: number, right: boolean): string {
  const s = printable(raw);
  if (s.length > width) return width > 1 ? s.slice(0, width - 1) + '…' : s.slice(0, width);
  return right ? s.padStart(width) : s.padEnd(width);
}

/* A name wider than width, cut in the middle (its start and its +0xoffset end both matter). */
export function fitMiddle(raw: string, width: number): string {
  const s = printable(raw);
  if (s.length <= width) return s.padEnd(width);
  if (width < 5) return s.slice(0, width);
  const tail = Math.floor((width - 1) / 2);
  return s.slice(0, width - 1 - tail) + '…' + s.slice(s.length - tail);
}

/* A column's width: its own, or its title with the sort mark (" v"), whichever is wider. */
const widthOf = <R>(c: Column<R>, sortKey: string) => Math.max(c.width, c.title.length + (c.sortKey === sortKey ? 2 : 0));

/* The columns that fit in width, keeping the sort column and leaving lastMin for the last one. */
function chooseColumns<R>(cols: Column<R>[], width: number, lastMin: number, sortKey: string): Column<R>[] {
  const chosen = cols.slice();
  const used = () => chosen.reduce((n, c) => n + widthOf(c, sortKey) + 1, 0);
  while (chosen.length && used() + lastMin > width) {
    let drop = -1;
    for (let i = 0; i < chosen.length; i++) {
      if (chosen[i].sortKey === sortKey) continue;
      if (drop < 0 || chosen[i].priority > chosen[drop].priority) drop = i;
    }
    if (drop < 0) break;
    chosen.splice(drop, 1);
  }
  return chosen;
}

function tableLines<R extends { key: string | number }>(
  cols: Column<R>[],
  lastTitle: string,
  last: (r: R) => string,
  rows: R[],
  s: UiState,
  width: number,
  height: number,
  /* What tells apart rows whose last column would read alike, when the CACHE column is dropped (a narrow screen). */
  tellApart?: (r: R) => string,
): Line[] {
  const sortKey = s.sort[s.view];
  const visible = Math.max(0, height - 1);
  /* Scroll so the selection stays on screen. */
  const top = Math.max(0, Math.min(s.selected - visible + 1, rows.length - visible));
  const shown = rows.slice(top, top + visible);
  /* The last column (the call site) gets the room of its longest name on screen: other columns drop first. */
  const choose = () =>
    chooseColumns(
      cols.filter((c) => !c.shownIf || rows.some(c.shownIf)),
      width,
      Math.min(width, Math.max(lastTitle.length, ...shown.map((r) => printable(last(r)).length))),
      sortKey,
    );
  let chosen = choose();
  /* Without the CACHE column, rows that would read alike carry what tells them apart; the columns are chosen again for the longer names. */
  if (tellApart && !chosen.some((c) => c.title === 'CACHE')) {
    /* Alike on screen: the rows shown (not every row of the view, each refresh). */
    const seen = new Map<string, number>();
    for (const r of shown) seen.set(last(r), (seen.get(last(r)) ?? 0) + 1);
    const plain = last;
    last = (r: R) => ((seen.get(plain(r)) ?? 0) > 1 ? `${plain(r)} ${tellApart(r)}` : plain(r));
    chosen = choose().filter((c) => c.title !== 'CACHE');
  }
  const lastMin = Math.min(width, Math.max(lastTitle.length, ...shown.map((r) => printable(last(r)).length)));
  const widths = chosen.map((c) => widthOf(c, sortKey));
  /* Room to spare (a wide terminal; a file, unlimited) goes to text columns whose names are cut: whole names first, the call site keeping its room. */
  let spare = width - lastMin - widths.reduce((n, w) => n + w + 1, 0);
  chosen.forEach((c, i) => {
    if (c.right || spare <= 0) return;
    const grow = Math.min(spare, Math.max(0, ...shown.map((r) => printable(c.cell(r)).length)) - widths[i]);
    if (grow > 0) {
      widths[i] += grow;
      spare -= grow;
    }
  });
  const lastWidth = Math.max(1, width - widths.reduce((n, w) => n + w + 1, 0));
  const head = chosen.map((c, i) => fit(c.title + (c.sortKey === sortKey ? (s.reverse ? ' ^' : ' v') : ''), widths[i], c.right)).join(' ');
  const out: Line[] = [{ text: fit(`${head} ${lastTitle}`, width, false), style: 'heading' }];
  shown.forEach((r, i) => {
    const cells = chosen.map((c, j) => fit(c.cell(r), widths[j], c.right)).join(' ');
    out.push({ text: fit(`${cells} ${fitMiddle(last(r), lastWidth)}`, width, false), style: top + i === s.selected ? 'selected' : 'normal' });
  });
  return out;
}

export function sparkline(values: number[], width: number): string {
  const marks = '▁▂▃▄▅▆▇█';
  const v = values.slice(-width);
  if (v.length === 0) return '';
  const lo = Math.min(...v);
  const hi = Math.max(...v);
  return v.map((x) => marks[hi === lo ? 0 : Math.round(((x - lo) / (hi - lo)) * (marks.length - 1))]).join('');
}

function detailLines(r: SiteRow, history: History, width: number, split: Split): Line[] {
  const s = r.site;
  const ctx = (b: typeof s.freesByContext) => byContext(b, compact);
  const lines = [
    `${siteLabel(s)}  ${s.kind === 'kmalloc' ? 'kmalloc size class' : 'slab cache'} ${s.cache}, ${s.objectSize} B per object`,
    `allocs ${compact(s.allocs)} (${ctx(s.allocsByContext)})`,
    `frees  ${compact(s.frees)} (${ctx(s.freesByContext)}); retired unseen ${compact(s.freesUnseen)}; untracked ${compact(s.untrackedAllocs)}; failed ${compact(s.failedAllocs)}`,
    `requested ${bytes(s.bytesRequested)} of ${bytes(s.bytesAllocated)} allocated: ${Math.round(100 * r.fragmentation)}% lost to rounding`,
    s.liveObjectsUpperBound
      ? `live: tracked <=${bytes(s.liveBytes)} (${compact(s.liveObjects)} obj) is an upper bound: ${s.cache} holds fewer objects than tracked; estimate ~${bytes(s.liveBytesEstimate)}`
      : `live: ${bytes(s.liveBytes)} (${compact(s.liveObjects)} obj)` + (s.cacheAliases.length ? `; ${s.cache} also serves ${s.cacheAliases.join(', ')}` : ''),
    `live bytes over the session: ${sparkline(history.get(r.key), Math.max(10, width - 40))} now ${bytes(s.liveBytesEstimate)}`,
    ...(s.age
      ? [
          `live objects by age: <10s ${compact(s.age.under10s)}, <1m ${compact(s.age.under1m)}, <10m ${compact(s.age.under10m)}, older ${compact(s.age.older)}; ` +
            `oldest ${ageText(s.age.oldestSeconds)}` +
            (s.age.olderThanObjects !== undefined ? `; ${compact(s.age.olderThanObjects)} counted (--older)` : ''),
        ]
      : []),
    ...splitLines(s, split),
  ];
  return [{ text: '-'.repeat(width), style: 'dim' }, ...lines.map((t) => ({ text: fit(t, width, false), style: 'normal' as Style }))];
}

/*
 * The detail pane's list of who allocates at the site: its top stacks (the
 * callers past the call site, outermost last), memory cgroups or processes;
 * c walks the ones recorded.
 */
function splitLines(s: Site, want: Split): string[] {
  const have = siteSplits(s);
  if (!have.length) return [];
  const split = have.includes(want) ? want : have[0];
  const up = s.liveObjectsUpperBound ? '<=' : '';
  const row = (live: number, objs: number, allocs: number, what: string) =>
    `  ${(up + bytes(live)).padStart(10)} ${(up + compact(objs)).padStart(8)} obj ${compact(allocs).padStart(7)} allocs  ${what}`;
  const more = have.length > 1 ? `  (c: ${have.filter((k) => k !== split).join(', ')})` : '';
  const out: string[] = [];
  if (split === 'stacks') {
    out.push(`top callers by live bytes${more}`);
    for (const st of s.stacks ?? []) out.push(row(st.liveBytes, st.liveObjects, st.allocs, st.frames.length > 1 ? st.frames.slice(1).join(' <- ') : st.frames.length ? '(no caller frames)' : '(stack not recorded)'));
    if (s.otherStacks) out.push(row(s.otherStacks.liveBytes, s.otherStacks.liveObjects, s.otherStacks.allocs, `${s.otherStacks.stacks} other stacks`));
  } else if (split === 'cgroups') {
    out.push(`memory cgroups of the allocating tasks${more}`);
    for (const c of s.cgroups ?? []) out.push(row(c.liveBytes, c.liveObjects, c.allocs, c.path));
    if (s.otherCgroups) out.push(row(s.otherCgroups.liveBytes, s.otherCgroups.liveObjects, s.otherCgroups.allocs, `${s.otherCgroups.cgroups} other cgroups`));
  } else {
    out.push(`allocating processes${more}`);
    for (const t of s.tasks ?? []) out.push(row(t.liveBytes, t.liveObjects, t.allocs, t.tgid ? `${t.tgid} ${t.comm}` : t.comm));
    if (s.otherTasks) out.push(row(s.otherTasks.liveBytes, s.otherTasks.liveObjects, s.otherTasks.allocs, `${s.otherTasks.tasks} other processes`));
  }
  if (out.length === 1) out.push('  (none yet)');
  return out;
}


function headerLines(m: UiModel, s: UiState, width: number, batch: boolean): Line[] {
  const h = m.header;
  /* Share of the period's frees in interrupt context; none to share without frees, unknown without contexts. */
  const irq = h.irqFreeShare === null ? (h.contextSource === 'unknown' ? 'irq: unknown here' : 'no frees') : `irq ${Math.round(100 * h.irqFreeShare)}%`;
  /* Sampling: estimates carry a "~" and the header says 1 in how many. */
  const e = h.sampleOneIn ? '~' : '';
  const l1 =
    (m.olderThan ? `[older than ${ageText(m.olderThan)}] ` : '') +
    (m.replayAt ? `replay ${m.replayAt}  ` : `kmemtop ${(h.tracingMs / 1000).toFixed(0)}s  `) +
    `live ${e}${bytes(h.liveBytes)} ${e}${compact(h.liveObjects)} obj  ` +
    `alloc ${compact(h.allocsPerSec)}/s  free ${e}${compact(h.freesPerSec)}/s (${irq})` +
    (h.sampleOneIn ? `  sampled 1/${compact(h.sampleOneIn)}` : '');
  const mem = h.memory;
  const l2 = mem
    ? `memory: slab ${bytes((mem.slabReclaimableKb + mem.slabUnreclaimableKb) * 1024)}, LRU ${bytes((mem.lruAnonKb + mem.lruFileKb) * 1024)}: ${mem.text}`
    : m.replayAt
      ? 'memory: not recorded in this frame'
      : 'memory: /proc/meminfo unreadable';
  const lostText =
    h.lost.length === 0
      ? 'lost events: none'
      : `LOST EVENTS: ${h.lost.map((x) => `${x.label} ${compact(x.count)}`).join(', ')}: live figures approximate (+/-${compact(h.approximateBy)} objects)`;
  const phantom =
    h.phantomObjects > 0
      ? `; ${compact(h.upperBoundSites)} sites are upper bounds (~ estimates): phantom ${compact(h.phantomObjects)} obj (caches view)`
      : '';
  /* Views as "1:sites" (the key, then the name), the current one in brackets. */
  /* Batch mode (a tool's output) names the view instead of drawing tabs. */
  const tabs = batch ? `view ${s.view}` : VIEWS.map((v, i) => (v === s.view ? `[${i + 1}:${v}]` : `${i + 1}:${v}`)).join(' ');
  /* What narrows the rows first (the sort shows in the column heads too, so it goes last). */
  const since = m.baseline ? `  ${m.baseline.label}` : '';
  const l4 = `${tabs}${since}${s.filter ? `  filter "${s.filter}"` : ''}${s.paused ? '  PAUSED' : ''}  sort ${s.sort[s.view]}${s.reverse ? ' (reversed)' : ''}`;
  const failed = h.pageFailures?.count ? `FAILED page allocs ${compact(h.pageFailures.count)} (up to order ${h.pageFailures.maxOrder}); ` : '';
  return [
    { text: fit(l1, width, false), style: 'normal' },
    { text: fit(l2, width, false), style: 'normal' },
    { text: fit(failed + lostText + phantom, width, false), style: h.lost.length || failed ? 'alert' : 'normal' },
    /* Only on a kernel that lacks something: what is off, and what it needs. */
    ...(h.featuresOff ? [{ text: fit(h.featuresOff, width, false), style: 'normal' as const }] : []),
    { text: fit(l4, width, false), style: 'heading' },
  ];
}

export const DETAIL_HEIGHT = 7;

/* The last first line the help can be scrolled to on this screen (its lines less the rows it gets). */
export function helpScrollMax(m: UiModel, s: UiState, width: number, height: number): number {
  const body = height - headerLines(m, s, width, false).length - 1;
  return Math.max(0, helpLines(width).length - Math.max(1, body));
}

/* batch: a frame for a file or pipe (top -b): no tabs, no key footer. */
export function renderFrame(m: UiModel, s: UiState, history: History, width: number, height: number, batch = false): Frame {
  const header = headerLines(m, s, width, batch);
  const footer: Line[] = batch ? [] : [{ text: fit(footerKeys(s), width, false), style: 'dim' }];
  const rows = viewRows(m, s);
  const selectedSite = s.view === 'sites' && s.detail ? (rows[s.selected] as SiteRow | undefined) : undefined;
  const detail = selectedSite ? detailLines(selectedSite, history, width, s.split) : [];
  const bodyHeight = Math.max(1, height - header.length - footer.length - detail.length);
  let body: Line[];
  if (s.help) {
    const lines = helpLines(width);
    const top = Math.max(0, Math.min(s.helpTop, lines.length - bodyHeight));
    body = lines.slice(top, top + bodyHeight).map((t) => ({ text: fit(t, width, false), style: 'normal' as Style }));
    if (top + bodyHeight < lines.length) body[body.length - 1] = { text: fit(`-- more: down/PgDn (line ${top + bodyHeight} of ${lines.length}) --`, width, false), style: 'dim' };
  } else if (s.view === 'sites') {
    body = tableLines(m.baseline ? [...GROWTH_COLUMNS, ...SITE_COLUMNS] : SITE_COLUMNS, 'CALL SITE', (r: SiteRow) => siteLabelShort(r.site), rows as SiteRow[], s, width, bodyHeight, (r) => `[${r.cacheLabel}]`);
  } else if (s.view === 'caches') {
    body = tableLines(CACHE_COLUMNS, 'CACHE', (r: CacheRow) => r.cache, rows as CacheRow[], s, width, bodyHeight);
  } else if (s.view === 'cgroups') {
    body = m.cgroups
      ? [
          { text: fit(`memory cgroups of the allocating tasks (${m.memcgHierarchy ?? 'no memory controller found'}); interrupt-context allocations have no task`, width, false), style: 'dim' as Style },
          ...tableLines(CGROUP_COLUMNS, 'CGROUP', (r: CgroupViewRow) => r.path, rows as CgroupViewRow[], s, width, bodyHeight - 1),
        ]
      : [{ text: fit('memory cgroups: not recorded; start kmemtop with --by-cgroup', width, false), style: 'alert' }];
  } else if (m.shrinkers === null) {
    body = [{ text: fit(`shrinkers: ${m.reclaimUnavailable ?? 'not traced'}`, width, false), style: 'alert' }];
  } else if (!m.shrinkers.some((r) => r.calls > 0)) {
    body = [{ text: fit('shrinkers: none called yet (they run under memory pressure: reclaim, or echo 2 > /proc/sys/vm/drop_caches)', width, false), style: 'normal' }];
  } else {
    body = tableLines(
      SHRINKER_COLUMNS,
      'SHRINKER',
      (r: ShrinkerRow) => r.name + (r.freesLittle ? '  <- asked much, freed little' : ''),
      rows as ShrinkerRow[],
      s,
      width,
      bodyHeight,
    );
  }
  body = body.slice(0, bodyHeight);
  while (body.length < bodyHeight) body.push({ text: '', style: 'normal' });
  return { lines: [...header, ...body, ...detail, ...footer] };
}

/* Plain text of a frame, for batch mode and tests. */
export function frameText(f: Frame): string {
  return f.lines.map((l) => l.text.trimEnd()).join('\n');
}
