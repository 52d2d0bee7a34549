/*
 * The kernel's own OOM report, from its log (/dev/kmsg records): what the
 * kernel knew at the kill and kmemtop cannot read afterwards -- the
 * request's gfp_mask and order as the allocator had them, and for a memory
 * cgroup OOM the cgroup's usage, kernel and anon figures at that moment
 * (read after the kill they are the cgroup without its victim).  Pure.
 *
 * The lines (mm/oom_kill.c dump_header, mm/memcontrol*.c
 * mem_cgroup_print_oom_meminfo), one record each:
 *   loadgen invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0
 *   memory: usage 49152kB, limit 49152kB, failcnt 19
 *   kmem: usage 164kB, limit 9007199254740988kB, failcnt 0       (cgroup v1)
 *   Memory cgroup stats for /kmemtop-capture:
 *   rss 50163712 | anon 50163712 ...                               (bytes; v1 | v2)
 *   oom-kill:constraint=CONSTRAINT_MEMCG,...,task=loadgen,pid=27696,uid=0
 */

export interface KmsgRecord {
  /* Microseconds since boot (the record's own stamp). */
  usec: number;
  text: string;
}

export interface KernelOomReport {
  /* The victim, as the oom-kill line names it. */
  pid: number;
  comm: string;
  /* When the kernel logged the kill, microseconds since boot. */
  usec: number;
  /* The task whose allocation invoked the OOM killer, and its request. */
  requester: string;
  /* "0xcc0(GFP_KERNEL)" as the kernel printed it, and the mask. */
  gfpText: string;
  gfpMask: number;
  order: number;
  /* CONSTRAINT_MEMCG, CONSTRAINT_NONE, ... */
  constraint: string | null;
  /* A memory cgroup OOM: the cgroup's figures at the kill (bytes); null for any other. */
  memcg: {
    path: string | null;
    usageBytes: number | null;
    limitBytes: number | null;
    kmemBytes: number | null;
    anonBytes: number | null;
    fileBytes: number | null;
  } | null;
}

/* PAGE_COUNTER_MAX in kB and above: no limit. */
const NO_LIMIT_KB = 2 ** 52;

/* Every complete OOM report in the records, oldest first (a report cut by a full log buffer is dropped). */
export function parseOomReports(records: KmsgRecord[]): KernelOomReport[] {
  const out: KernelOomReport[] = [];
  let cur: Omit<KernelOomReport, 'pid' | 'comm' | 'usec' | 'constraint'> | null = null;
  let stats: Map<string, number> | null = null;
  let kernelStat: number | null = null;
  for (const { usec, text } of records) {
    let m = /^(.*) invoked oom-killer: gfp_mask=(0x[0-9a-f]+)\(([^)]*)\), order=(-?\d+)/.exec(text);
    if (m) {
      cur = { requester: m[1], gfpText: `${m[2]}(${m[3]})`, gfpMask: parseInt(m[2], 16), order: Number(m[4]), memcg: null };
      stats = null;
      kernelStat = null;
      continue;
    }
    if (!cur) continue;
    if ((m = /^memory: usage (\d+)kB, limit (\d+)kB/.exec(text))) {
      const limit = Number(m[2]);
      cur.memcg = { path: null, usageBytes: Number(m[1]) * 1024, limitBytes: limit >= NO_LIMIT_KB ? null : limit * 1024, kmemBytes: null, anonBytes: null, fileBytes: null };
      continue;
    }
    if ((m = /^kmem: usage (\d+)kB/.exec(text)) && cur.memcg) {
      cur.memcg.kmemBytes = Number(m[1]) * 1024;
      continue;
    }
    if ((m = /^Memory cgroup stats for (.*):$/.exec(text)) && cur.memcg) {
      cur.memcg.path = m[1];
      stats = new Map();
      continue;
    }
    if (stats && (m = /^(\w+) (\d+)$/.exec(text))) {
      stats.set(m[1], Number(m[2]));
      continue;
    }
    if (stats && cur.memcg) {
      /* The stats end at the first other line: v1 names anon "rss" and file "cache", v2 "anon" and "file", and counts "kernel". */
      cur.memcg.anonBytes = stats.get('anon') ?? stats.get('rss') ?? null;
      cur.memcg.fileBytes = stats.get('file') ?? stats.get('cache') ?? null;
      kernelStat = stats.get('kernel') ?? null;
      if (cur.memcg.kmemBytes === null) cur.memcg.kmemBytes = kernelStat;
      stats = null;
    }
    if ((m = /^oom-kill:constraint=(\w+),.*,task=(.*),pid=(\d+),uid=\d+$/.exec(text))) {
      out.push({ ...cur, pid: Number(m[3]), comm: m[2], usec, constraint: m[1] });
      cur = null;
    }
  }
  return out;
}

/*
 * The kernel's report of the kill of pid at timeNs (bpf_ktime_get_ns, also
 * since boot): the one for that pid logged closest to it, within 30 s (pids
 * are reused), or null.
 */
export function reportFor(reports: KernelOomReport[], pid: number, timeNs: number): KernelOomReport | null {
  let best: KernelOomReport | null = null;
  for (const r of reports) {
    if (r.pid !== pid) continue;
    const d = Math.abs(r.usec * 1000 - timeNs);
    if (d > 30e9) continue;
    if (!best || d < Math.abs(best.usec * 1000 - timeNs)) best = r;
  }
  return best;
}

/* One /dev/kmsg record ("6,6625,11234645984,-;memory: usage ...", continuation lines after it), or null. */
export function parseKmsgRecord(raw: string): KmsgRecord | null {
  const semi = raw.indexOf(';');
  if (semi < 0) return null;
  const fields = raw.slice(0, semi).split(',');
  const usec = Number(fields[2]);
  if (!Number.isFinite(usec)) return null;
  const text = raw.slice(semi + 1).split('\n')[0];
  return { usec, text };
}
