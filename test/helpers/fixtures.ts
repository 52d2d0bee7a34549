/* Load the fixtures captured from the real kernel by scripts/capture-fixtures. */
import * as fs from 'fs';
import * as path from 'path';
import type { RawSnapshot } from '../../src/collect/raw';
import type { KernelFacts } from '../../src/abi/kernel';
import { Kallsyms } from '../../src/sys/kallsyms';
import { parseSlabinfo, SlabCache } from '../../src/sys/slabinfo';

export function fixtureSlabinfo(): Map<string, SlabCache> {
  return parseSlabinfo(fs.readFileSync(path.join(FIXTURES, 'slabinfo.txt'), 'utf8'));
}

export const FIXTURES = path.join(__dirname, '..', 'fixtures');

export function fixtureKallsyms(): Kallsyms {
  return Kallsyms.parse(fs.readFileSync(path.join(FIXTURES, 'kallsyms.txt'), 'utf8'));
}

/* The fixture's fake cache pointers stand in for kmem_cache pointers (decimal strings). */
export function fixtureRaw(): RawSnapshot {
  const j = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'raw-eventfd.json'), 'utf8'));
  return {
    monotonicMs: j.monotonicMs,
    wallTime: new Date(j.wallTime),
    sites: j.sites.map((s: { idx: number; callSite: string; cache: string; stats: never }) => ({
      idx: s.idx,
      key: { callSite: BigInt('0x' + s.callSite), cache: BigInt(s.cache) },
      stats: { sampledAllocs: 0, ...(s.stats as object) },
    })),
    caches: new Map(j.caches.map((c: { id: string; name: string; objectSize: number; size: number }) => [
      BigInt(c.id),
      { name: c.name, objectSize: c.objectSize, size: c.size },
    ])),
    lost: { slabGone: 0, ...j.lost },
    counters: { selfAllocs: 0, ...j.counters },
    programs: j.programs,
    recursion: j.recursion,
    maps: j.maps,
    contextSource: j.contextSource,
    sampleOneIn: j.sampleOneIn ?? 1,
    slabs: fixtureSlabinfo(),
    slabNames: null,
    details: null,
    ages: null,
    sweep: { available: true, reason: null, runs: 1, last: { examined: 0, retired: 0, raced: 0, durationMs: 0, now: 0 } },
    /* The fixture's kernel (6.18) as scripts/vmtest read it. */
    kernelFacts: j.kernelFacts ?? fixtureKernelFacts('6.18.'),
    reclaim: j.reclaim && {
      ...j.reclaim,
      shrinkers: j.reclaim.shrinkers.map((sh: { shrinker: string; info: { scanObjects: string; countObjects: string } | null }) => ({
        ...sh,
        shrinker: BigInt(sh.shrinker),
        info: sh.info && { ...sh.info, scanObjects: BigInt('0x' + sh.info.scanObjects), countObjects: BigInt('0x' + sh.info.countObjects) },
      })),
    },
    reclaimUnavailable: j.reclaimUnavailable,
  };
}

/* The facts of a kernel of the matrix (test/fixtures/kernel-facts.json: scripts/kernels-doc --facts), by release prefix. */
export function fixtureKernelFacts(releasePrefix: string): KernelFacts {
  const all: Record<string, KernelFacts> = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'kernel-facts.json'), 'utf8'));
  const f = Object.values(all).find((x) => x.release.startsWith(releasePrefix));
  if (!f) throw new Error(`no kernel ${releasePrefix}* in kernel-facts.json`);
  return f;
}
