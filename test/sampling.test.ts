/*
 * --sample N on the real kernel: 1 object in N tracked (by address hash),
 * allocation counts exact, live figures estimated.  Checked against a full
 * tracer attached at the same time to the same events.  Needs root and BPF.
 */
import { execFileSync } from 'child_process';
import { Tracer } from '../src/collect/tracer';
import { Kallsyms } from '../src/sys/kallsyms';
import { buildSnapshot, Site, Snapshot } from '../src/model/snapshot';
import { assertBpfUsable, describeBpf, kmemtopProgIds, kmemtopProgIdsSettled, LOADGEN } from './helpers/bpf';
import { killHolder, releaseHolder, startHolder, Holder } from './helpers/loadgen';

const N = 16;
const eventfd = (s: Snapshot): Site => s.sites.find((x) => x.function === 'do_eventfd')!;

describeBpf('real kernel: sampling (--sample)', () => {
  let syms: Kallsyms;
  let progsBefore: number[] = [];

  beforeAll(() => {
    assertBpfUsable();
    syms = Kallsyms.load();
    progsBefore = kmemtopProgIds();
  });

  /* A full and a sampled tracer on the same events while work runs (the full one attached first, detached last). */
  async function both(work: () => Promise<void> | void): Promise<{ full: Snapshot; sampled: Snapshot; rawSampled: ReturnType<Tracer['read']> }> {
    const full = Tracer.start({ maxLive: 1 << 18, reclaim: false });
    let sampled: Tracer | null = null;
    try {
      sampled = Tracer.start({ maxLive: 1 << 18, reclaim: false, sampleOneIn: N });
      await work();
      sampled.detach();
      full.detach();
      const rawSampled = sampled.read();
      return {
        full: buildSnapshot(full.read(), full.window, (ip) => syms.resolve(ip)),
        sampled: buildSnapshot(rawSampled, sampled.window, (ip) => syms.resolve(ip)),
        rawSampled,
      };
    } finally {
      sampled?.close();
      full.close();
    }
  }

  it('16,000 eventfds held: allocations exact, live estimated within 20%, 1 in 16 tracked', async () => {
    let h: Holder | null = null;
    try {
      const { full, sampled, rawSampled } = await both(async () => {
        h = await startHolder('eventfd-hold', 16000);
      });
      const f = eventfd(full);
      const s = eventfd(sampled);
      expect(f.liveObjects).toBeGreaterThanOrEqual(16000);
      /* Every allocation counted (exactness against the kernel's own run counts: next test). */
      expect(s.allocs).toBeGreaterThanOrEqual(16000);
      expect(s.liveObjects).toBeGreaterThan(0.8 * f.liveObjects);
      expect(s.liveObjects).toBeLessThan(1.2 * f.liveObjects);
      expect(sampled.sampling).toMatchObject({ oneIn: N });
      /* The address hash picks about 1 in N of all allocations. */
      const picked = rawSampled.sites.reduce((n, r) => n + r.stats.sampledAllocs, 0);
      expect(picked / sampled.totals.allocs).toBeGreaterThan(0.8 / N);
      expect(picked / sampled.totals.allocs).toBeLessThan(1.2 / N);
    } finally {
      if (h) await releaseHolder(h);
      await killHolder(h);
    }
  });

  it('20,000 eventfds churned: every allocation and every free event counted, as the kernel counted the runs', () => {
    /* bpf_stats: the kernel counts every run of every program, independently of what the programs count. */
    const t = Tracer.start({ maxLive: 1 << 18, reclaim: false, sampleOneIn: N, bpfStats: true });
    let raw: ReturnType<Tracer['read']>;
    try {
      execFileSync(LOADGEN, ['eventfd-churn', '20000']);
      t.detach();
      raw = t.read();
    } finally {
      t.close();
    }
    const snap = buildSnapshot(raw, t.window, (ip) => syms.resolve(ip));
    const runs = (tp: string) => raw.programs.filter((p) => p.tracepoint === tp).reduce((n, p) => n + p.runCount, 0);
    /* A run the kernel skips as nested is neither in run_cnt nor in our counts: the equalities hold regardless. */
    expect(snap.lost.sitesFull).toBe(0);
    const failed = snap.sites.reduce((n, s) => n + s.failedAllocs, 0);
    /* kmemtop's own allocations are counted apart (selfAllocs), not tracked. */
    expect(snap.totals.allocs + failed + snap.counters.zeroSizeAllocs + snap.counters.selfAllocs).toBe(runs('kmalloc') + runs('kmem_cache_alloc'));
    expect(snap.sampling!.freeEvents + snap.counters.nullFrees).toBe(runs('kfree') + runs('kmem_cache_free'));
    expect(snap.sampling!.freeEvents).toBeGreaterThanOrEqual(80000);
    const site = eventfd(snap);
    expect(site.allocs).toBeGreaterThanOrEqual(20000);
    expect(site.liveObjects).toBeLessThanOrEqual(N * 2);
    /* A churning site reuses a few addresses: its frees are all it allocated but the live, not (tracked frees) x N. */
    expect(site.frees + site.freesUnseen).toBeGreaterThanOrEqual(site.allocs - N * 2);
  });

  it('leaves nothing loaded', async () => {
    expect(await kmemtopProgIdsSettled(progsBefore)).toEqual(progsBefore);
  });
});
