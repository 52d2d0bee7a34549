/*
 * GFP flags named as the kernel names them, with the bit positions of this
 * kernel (enum ___GFP_*_BIT captured from its BTF: test/fixtures/gfp-bits.json),
 * and failed page allocations through the model.  A failed page allocation
 * could not be provoked reliably on this machine (24 GB, mostly free: even
 * order 10 succeeds; larger orders fail before the tracepoint fires), so
 * the failures here are built from the decoded layout, not captured.
 */
import * as fs from 'fs';
import * as path from 'path';
import { decodeGfp, gfpHint, kmallocGfp, LEGACY_GFP_BITS } from '../src/model/gfp';
import { releaseVersion } from '../src/sys/features';
import { buildSnapshot } from '../src/model/snapshot';
import { fixtureKallsyms, fixtureRaw, FIXTURES } from './helpers/fixtures';

const bits = new Map<string, number>(Object.entries(JSON.parse(fs.readFileSync(path.join(FIXTURES, 'gfp-bits.json'), 'utf8')).bits));
const b = (name: string) => 2 ** bits.get(`___GFP_${name}_BIT`)!;
const GFP_KERNEL = b('DIRECT_RECLAIM') | b('KSWAPD_RECLAIM') | b('IO') | b('FS');

describe('GFP flags', () => {
  it("decodes Linux 6.1's flags from the fixed #define layout: the kernel's own OOM line says gfp_mask=0xcc0(GFP_KERNEL)", () => {
    expect(decodeGfp(0xcc0, LEGACY_GFP_BITS)).toBe('GFP_KERNEL');
    expect(decodeGfp(0x400cc0, LEGACY_GFP_BITS)).toBe('GFP_KERNEL_ACCOUNT');
    expect(decodeGfp(0x100cca, LEGACY_GFP_BITS)).toBe('GFP_HIGHUSER_MOVABLE');
    expect(decodeGfp(0xa20, LEGACY_GFP_BITS)).toBe('GFP_ATOMIC');
    expect(releaseVersion('6.1.0-57-cloud-amd64')).toEqual([6, 1]);
    expect(releaseVersion('6.12.118+deb13-cloud-amd64')).toEqual([6, 12]);
  });

  it('finds the flags that pick the kmalloc-cg, kmalloc-rcl and dma-kmalloc caches, only for the caches the kernel has', () => {
    const all = ['kmalloc-8', 'kmalloc-cg-8', 'kmalloc-rcl-8', 'dma-kmalloc-8', 'signal_cache'];
    expect(kmallocGfp(bits, all)).toEqual({ dma: b('DMA'), reclaimable: b('RECLAIMABLE'), account: b('ACCOUNT') });
    /* cgroup.memory=nokmem or no memcg: no kmalloc-cg caches, __GFP_ACCOUNT kmallocs come from kmalloc-N. */
    expect(kmallocGfp(bits, ['kmalloc-8', 'kmalloc-rcl-8'])).toEqual({ dma: 0, reclaimable: b('RECLAIMABLE'), account: 0 });
    expect(kmallocGfp(LEGACY_GFP_BITS, all)).toEqual({ dma: 0x1, reclaimable: 0x10, account: 0x400000 });
    expect(kmallocGfp(new Map(), all)).toEqual({ dma: 0, reclaimable: 0, account: 0 });
  });

  it('names composites first, then single flags, as the kernel does', () => {
    expect(decodeGfp(GFP_KERNEL, bits)).toBe('GFP_KERNEL');
    expect(decodeGfp(GFP_KERNEL | b('ACCOUNT'), bits)).toBe('GFP_KERNEL_ACCOUNT');
    expect(decodeGfp(GFP_KERNEL | b('NOWARN') | b('NORETRY') | b('COMP'), bits)).toBe('GFP_KERNEL|__GFP_NOWARN|__GFP_NORETRY|__GFP_COMP');
    expect(decodeGfp(b('HIGH') | b('KSWAPD_RECLAIM'), bits)).toBe('GFP_ATOMIC');
    expect(decodeGfp(b('KSWAPD_RECLAIM') | b('NOWARN'), bits)).toBe('GFP_NOWAIT|__GFP_NOWARN');
    expect(decodeGfp(GFP_KERNEL | b('HARDWALL') | b('HIGHMEM') | b('MOVABLE'), bits)).toBe('GFP_HIGHUSER_MOVABLE');
    expect(decodeGfp(0, bits)).toBe('0');
    expect(decodeGfp(2 ** 30, bits)).toBe('0x40000000');
  });

  it('says what the flags and the order mean for the failure', () => {
    expect(gfpHint(b('HIGH') | b('KSWAPD_RECLAIM'), 0, bits)).toBe('no direct reclaim: shrinkers could not help');
    expect(gfpHint(GFP_KERNEL | b('NOWARN') | b('NORETRY'), 4, bits)).toBe("allowed to fail (a fallback follows); order 4: high order, compaction's business");
    expect(gfpHint(GFP_KERNEL, 0, bits)).toBe('');
  });

  it('failed page allocations in the snapshot: named sites, decoded flags, most first', () => {
    const raw = fixtureRaw();
    const syms = fixtureKallsyms();
    const site = raw.sites[0].key.callSite;
    const snap = buildSnapshot(
      { ...raw, pages: true, pageFailures: { gfpBits: bits, failures: [{ callSite: site, order: 3, gfp: GFP_KERNEL | b('NOWARN') | b('NORETRY') | b('COMP'), count: 2 }, { callSite: 0n, order: 0, gfp: b('HIGH') | b('KSWAPD_RECLAIM'), count: 5 }] } },
      { wallTime: raw.wallTime, monotonicMs: raw.monotonicMs - 1000 },
      (ip) => syms.resolve(ip),
    );
    expect(snap.pageFailures!.map((f) => [f.count, f.order, f.gfp, f.site.replace(/\+0x[0-9a-f]+/, '')])).toEqual([
      [5, 0, 'GFP_ATOMIC', '[unknown]'],
      [2, 3, 'GFP_KERNEL|__GFP_NOWARN|__GFP_NORETRY|__GFP_COMP', syms.resolve(site)!.function],
    ]);
  });
});
