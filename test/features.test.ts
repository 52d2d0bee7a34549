/*
 * The kernel features model (pure), on the facts scripts/vmtest read from
 * Debian's 6.1 and 6.12 and this machine's 6.18 (test/fixtures/kernel-facts.json,
 * written by `scripts/kernels-doc --facts` from a matrix run).
 */
import { featuresLine, featuresOffLine, kernelFeatures } from '../src/model/features';
import { fixtureKernelFacts as byPrefix } from './helpers/fixtures';

const swept = { available: true, reason: null };
const noSweep = { available: false, reason: 'no sweep: this kernel lacks bpf_get_kmem_cache (Linux 6.13+)' };

describe('kernel features', () => {
  it('6.1: no sweep, no ages (6.13), no vmalloc sites (6.3), contexts by probe read', () => {
    const f = kernelFeatures(byPrefix('6.1.'), noSweep);
    const off = Object.fromEntries(f.filter((x) => !x.on).map((x) => [x.name, x.needs]));
    expect(off).toEqual({
      sweep: 'Linux 6.13: bpf_get_kmem_cache',
      'object ages': 'Linux 6.13: bpf_get_kmem_cache',
      'vmalloc sites': 'Linux 6.3: tracepoints alloc_vmap_area, free_vmap_area_noflush',
    });
    expect(f.find((x) => x.name === 'contexts')!.note).toMatch(/bpf_probe_read_kernel/);
    expect(featuresLine(f)).toMatch(/^kernel features: sweep: off \(needs Linux 6\.13: bpf_get_kmem_cache\); object ages: off/);
  });

  it('6.12: only the sweep and ages off; contexts read directly', () => {
    const f = kernelFeatures(byPrefix('6.12.'), noSweep);
    expect(f.filter((x) => !x.on).map((x) => x.name)).toEqual(['sweep', 'object ages']);
    expect(f.find((x) => x.name === 'contexts')!.note).toBeNull();
    expect(featuresOffLine(f)).toBe('off on this kernel: sweep (needs Linux 6.13: bpf_get_kmem_cache); object ages (needs Linux 6.13: bpf_get_kmem_cache)');
  });

  it('6.18: everything on; a sweep that failed to load says why; reclaim not loaded turns its features off', () => {
    const facts = byPrefix('6.18.');
    expect(kernelFeatures(facts, swept).every((x) => x.on)).toBe(true);
    expect(featuresOffLine(kernelFeatures(facts, swept))).toBeNull();
    const failed = kernelFeatures(facts, { available: false, reason: 'no sweep: loading it failed (E2BIG)' }, 'the kernel rejected the BPF object');
    expect(featuresOffLine(failed)).toBe(
      'off on this kernel: sweep (loading it failed (E2BIG)); object ages (loading it failed (E2BIG)); shrinkers (the kernel rejected the BPF object); OOM kills (the kernel rejected the BPF object); compaction (the kernel rejected the BPF object)',
    );
  });

  it('no preempt_count found: contexts off, saying what is missing', () => {
    const f = kernelFeatures({ ...byPrefix('6.18.'), preemptCountDelta: 0 }, swept);
    expect(f.find((x) => x.name === 'contexts')).toMatchObject({ on: false, needs: expect.stringMatching(/__preempt_count/) });
  });
});
