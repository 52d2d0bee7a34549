/* The memory report as text (one screen, most useful first) and JSON. Pure. */
import type { MemoryReport } from '../model/memreport';
import type { OomVictim } from '../model/shrinkers';
import type { PreHistory } from '../model/prehistory';
import { bytes, count, duration, printable, table } from './format';
import type { Renderer } from './formats';


/* What is known of an OOM kill beyond the victim: its memory cgroup, its size, the request the kill served. */
export function oomLines(v: OomVictim): string[] {
  const L: string[] = [];
  const b = (n: number | null) => (n === null ? '-' : bytes(n));
  if (v.memcg) {
    const f = v.memcg.figures;
    const where = v.memcg.path ?? '(a cgroup removed since)';
    if (f) {
      const when = v.memcg.figuresWhen === 'kill' ? "at the kill, from the kernel's OOM report" : 'read now, after the kill (the kernel log had no report of it)';
      L.push(
        printable(`  memory cgroup ${where}: limit ${f.limitBytes === null ? 'none' : bytes(f.limitBytes)}, usage ${b(f.usageBytes)} ` +
          `(kernel ${b(f.kmemBytes)}, anon ${b(f.anonBytes)}, file ${b(f.fileBytes)}; ${when})`),
      );
    } else {
      L.push(printable(`  memory cgroup ${where} (its figures are gone with it)`));
    }
  }
  if (v.rssBytes !== undefined) L.push(`  victim resident: ~${bytes(v.rssBytes)} (file + anon + shmem pages at the kill)`);
  if (v.request) {
    const q = v.request;
    const by = `by ${q.comm}${q.pid === null ? '' : ` (pid ${q.pid})`}`;
    const hint = q.hint ? `: ${q.hint}` : '';
    if (q.source === 'kernel') {
      L.push(printable(`  the request: order ${q.order} ${q.gfp} (gfp_mask=0x${(q.gfpMask ?? 0).toString(16)}, from the kernel's OOM report) ${by}${hint}`));
    } else {
      L.push(printable(`  the request (inferred from the ${q.kind} reclaim it entered just before; the kernel log had no report of the kill): order ${q.order} ${q.gfp} ${by}${hint}`));
    }
    L.push(compactionLine(v));
  } else if (v.request === null) {
    L.push('  the request: unknown (no reclaim entered on that CPU in the second before the kill)');
  }
  L.push("  not shown here (see the kernel log): the kernel's per-task table (rss, page tables, swap, oom_score_adj), zone watermarks, swap");
  return L;
}

/*
 * A memory cgroup OOM: the verdict is the cgroup's (what filled it up to its
 * limit), from its figures; null for any other kill, or without figures.
 */
export function memcgVerdict(v: OomVictim | null | undefined): string | null {
  const f = v?.memcg?.figures;
  if (!v?.memcg || !f || v.memcg.oom === false || (v.memcg.oom === undefined && f.limitBytes === null)) return null;
  const kernel = f.kmemBytes ?? 0;
  const user = (f.anonBytes ?? 0) + (f.fileBytes ?? 0);
  if (kernel + user === 0) return null;
  const share = (n: number) => `${Math.round((100 * n) / (kernel + user))}%`;
  const where = printable(v.memcg.path ?? '(a cgroup removed since)');
  return kernel > user
    ? `verdict: memory cgroup ${where} hit its limit; kernel memory dominates it (${bytes(kernel)}, ${share(kernel)} of kernel + anon + file): look in the kernel`
    : `verdict: memory cgroup ${where} hit its limit; user memory dominates it (anon + file ${bytes(user)}, ${share(user)}): almost certainly user space`;
}

/* Whether compaction was tried for the request the kill served, and what it did. */
export function compactionLine(v: OomVictim): string {
  const q = v.request!;
  if (q.kind === 'memcg') return '  compaction: not involved (a memory cgroup charge failed, not a page allocation)';
  if (q.order === 0) return '  compaction: does not apply to order 0 (reclaim alone serves it)';
  const c = v.compaction;
  if (!c) return `  compaction: not seen for this order-${q.order} request in the second before the kill (deferred, not allowed by its flags, or not built)`;
  const runs = c.zoneRuns
    ? `compacted ${c.zoneRuns} zone${c.zoneRuns === 1 ? '' : 's'}, ${c.zoneSuccesses} forming a free order-${q.order} block (last result: ${c.lastResult ?? '-'})`
    : 'no zone compacted';
  return `  compaction: tried ${c.tries} time${c.tries === 1 ? '' : 's'} for this order-${q.order} request: ${runs}${c.zonesDeferred ? `, ${c.zonesDeferred} zone${c.zonesDeferred === 1 ? '' : 's'} skipped as deferred after earlier failures` : ''}`;
}

/* watch --on-oom: what grew most in the minutes before the kill, per site and per cache. */
export function preHistoryLines(p: PreHistory): string[] {
  const reach = p.minutes.filter((m) => m * 60_000 <= p.spanMs + 5000);
  const longest = reach.length ? reach[reach.length - 1] : null;
  const L = [
    longest === null
      ? `Grew before the kill: no history yet (watch had run ${Math.round(p.spanMs / 1000)} s)`
      : `Grew most in the ${longest} minute${longest === 1 ? '' : 's'} before the kill (live bytes; history held: ${Math.round(p.spanMs / 1000)} s${p.timeline ? `; timeline: ${p.timeline}` : ''})`,
  ];
  if (longest === null) return L;
  const cols = p.minutes.map((m) => `+${m}m`);
  const grew = (g: (number | null)[]) => g.map((x) => (x === null ? '-' : x < 0 ? `-${bytes(-x)}` : `+${bytes(x)}`));
  if (p.sites.length === 0) L.push('  no call site grew');
  else L.push(...table([...cols, 'LIVE', 'CACHE', 'CALL SITE'], p.sites.map((x) => [...grew(x.grewBytes), bytes(x.liveBytes), x.cache, x.what]), [...cols.map(() => true), true, false, false]));
  if (p.caches.length) L.push(...table([...cols, 'LIVE', 'CACHE'], p.caches.map((x) => [...grew(x.grewBytes), bytes(x.liveBytes), x.what]), [...cols.map(() => true), true, false]));
  return L;
}

export function renderReportText(r: MemoryReport): string {
  const L: string[] = [];
  L.push(`kmemtop report  (${r.hostname}, Linux ${r.kernel}, ${r.time})`);
  if (r.oomVictim) L.push(`OOM kill: ${printable(r.oomVictim.comm)} (pid ${r.oomVictim.pid}) at ${r.oomVictim.time}`, ...oomLines(r.oomVictim));
  const cg = memcgVerdict(r.oomVictim);
  if (cg) L.push(cg);
  if (r.verdict) {
    const v = r.verdict;
    L.push(cg ? `machine-wide, for context (this kill was the cgroup's limit, not the machine's memory): ${v.text}` : `verdict: ${v.text}`);
    L.push(
      `  slab ${bytes((v.slabReclaimableKb + v.slabUnreclaimableKb) * 1024)} (reclaimable ${bytes(v.slabReclaimableKb * 1024)}, unreclaimable ${bytes(v.slabUnreclaimableKb * 1024)}); ` +
        `LRU ${bytes((v.lruAnonKb + v.lruFileKb) * 1024)} (anon ${bytes(v.lruAnonKb * 1024)}, file ${bytes(v.lruFileKb * 1024)})`,
    );
  } else {
    L.push('verdict: /proc/meminfo unreadable');
  }
  if (r.preHistory) L.push('', ...preHistoryLines(r.preHistory));
  if (r.memory) {
    const k = r.memory;
    const pct = (b: number) => (k.totalBytes ? `${((100 * b) / k.totalBytes).toFixed(1)}%` : '-');
    L.push('', `Where memory goes (/proc/meminfo: MemTotal ${bytes(k.totalBytes)})`);
    const rows: [string, number][] = [
      ['free', k.freeBytes],
      ['user (LRU, unevictable)', k.userBytes],
      ...(k.hugetlbBytes ? ([['hugetlb pool', k.hugetlbBytes]] as [string, number][]) : []),
      ...k.parts.filter((p) => p.bytes > 0).map((p) => [`kernel: ${p.name}`, p.bytes] as [string, number]),
      ['kernel: unaccounted (MemTotal less every line above: pages taken straight from the page allocator)', k.unaccountedBytes],
    ];
    L.push(...table(['MEMORY', 'SHARE', 'WHAT'], rows.map(([name, b]) => [b < 0 ? `-${bytes(-b)}` : bytes(b), pct(b), name]), [true, true, false]));
    L.push(`  kernel in all: ${bytes(k.kernelBytes)} (${pct(k.kernelBytes)}); left out: the kernel image and boot reservations (not in MemTotal)`);
  }
  L.push('', 'Largest slab caches');
  if (r.topCachesUnavailable) L.push(`  ${r.topCachesUnavailable}`);
  else L.push(...table(['MEMORY', 'OBJECTS', 'OBJ SIZE', 'CACHE'], r.topCaches.map((c) => [bytes(c.memoryBytes), count(c.activeObjects), `${c.objectSize}`, c.name]), [true, true, true, false]));
  L.push('');
  if (r.sites) {
    const s = r.sites;
    L.push(`Call sites (${s.source}, ${(s.windowMs / 1000).toFixed(1)} s traced): most live bytes`);
    L.push(...table(['LIVE BYTES', 'LIVE OBJS', 'GROWTH/s', 'CACHE', 'CALL SITE'], s.topLive.map((x) => [(x.upperBound ? '~' : '') + bytes(x.liveBytes), (x.upperBound ? '~' : '') + count(x.liveObjects), bytes(Math.round(x.growthBytesPerSec)), x.cache, x.site]), [true, true, true, false, false]));
    if (s.topLive.some((x) => x.upperBound)) L.push('~: an estimate: the cache holds fewer objects than tracked, its share of the phantom objects is left out');
    L.push('Fastest growing');
    L.push(
      ...(s.fastestGrowing.length
        ? table(['GROWTH/s', 'LIVE BYTES', 'CACHE', 'CALL SITE'], s.fastestGrowing.map((x) => [bytes(Math.round(x.growthBytesPerSec)), bytes(x.liveBytes), x.cache, x.site]), [true, true, false, false])
        : ['  none grew']),
    );
  } else {
    L.push(`call sites: ${r.sitesUnavailable ?? 'not traced'}`);
  }
  L.push('');
  if (r.shrinkers) {
    if (r.shrinkers.top.length === 0) L.push('shrinkers: none called');
    else {
      L.push('Shrinkers: asked vs freed');
      L.push(
        ...table(
          ['CALLS', 'ASKED', 'FREED', 'TIME', 'SHRINKER'],
          r.shrinkers.top.map((x) => [count(x.calls), count(x.requested), count(x.freed), duration(x.timeNs), x.name + (x.freesLittle ? '  <- asked much, freed little' : '')]),
          [true, true, true, true, false],
        ),
      );
    }
  } else {
    L.push('shrinkers: not traced');
  }
  if (r.fragmentation) {
    const f = r.fragmentation;
    L.push('', 'Fragmentation: free blocks by order (2^order pages)');
    L.push(...table(['NODE', 'ZONE', 'FREE', 'HIGHEST', ...Array.from({ length: 11 }, (_, o) => `${o}`)], f.zones.map((z) => [`${z.node}`, z.zone, bytes(z.freePages * 4096), `${z.highestFreeOrder}`, ...z.freeBlocks.slice(0, 11).map((n) => `${n}`)]), Array(15).fill(true)));
    const no = f.servable.filter((x) => !x.servable);
    L.push(no.length ? `high-order requests that free blocks cannot serve now: order ${no.map((x) => x.order).join(', ')} (${bytes(no[0].bytes)} and up)` : `every order up to ${f.servable.length - 1} can be served from free blocks`);
    L.push(`compaction: ${count(f.compactStall)} stalls, ${count(f.compactSuccess)} succeeded, ${count(f.compactFail)} failed; allocation stalls ${count(f.allocStall)}; OOM kills since boot ${count(f.oomKill)}`);
  }
  if (r.lost && r.accuracy) {
    L.push('', r.accuracy.approximate ? `lost events: live figures approximate, off by at most ${count(r.accuracy.maxLiveObjectsError)} objects (${r.accuracy.reasons.join('; ')})` : 'lost events: none');
  }
  return L.join('\n') + '\n';
}

export function renderReportJson(r: MemoryReport): string {
  return JSON.stringify(r, null, 2) + '\n';
}

/* The memory report in each format (output/formats.ts). */
export const memReportRenderer: Renderer<MemoryReport> = { text: renderReportText, json: renderReportJson };
