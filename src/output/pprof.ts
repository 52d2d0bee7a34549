/*
 * A pprof heap profile of the report (pure): what `go tool pprof`,
 * speedscope and the continuous profilers read.  Sample types as Go heap
 * profiles have them: alloc_objects/count, alloc_space/bytes,
 * inuse_objects/count, inuse_space/bytes.  One sample per allocation stack
 * (--stacks), else per call site; locations are shared between samples,
 * one per frame, leaf first.  No address is written (KASLR): a location is
 * its frame's function and offset, its function the symbol, its file the
 * module.  The encoder is the maintained pprof-format package; the bytes
 * are gzipped, as pprof files are.
 */
import { gzipSync } from 'zlib';
import { Function as PFunction, Line, Location, Profile, Sample, StringTable, ValueType } from 'pprof-format';
import type { Site } from '../model/site';
import { formatSymbol } from '../sys/kallsyms';

export const SAMPLE_TYPES = [
  ['alloc_objects', 'count'],
  ['alloc_space', 'bytes'],
  ['inuse_objects', 'count'],
  ['inuse_space', 'bytes'],
] as const;

interface Counts {
  allocs: number;
  liveObjects: number;
}

export interface PprofOptions {
  /* The sample type pprof shows first: inuse_space (/debug/pprof/heap), alloc_space (/debug/pprof/allocs). */
  defaultSampleType?: 'inuse_space' | 'alloc_space';
  /* A delta profile (?seconds=N): values may be negative (live objects freed during it), as Go's are. */
  delta?: boolean;
}

export function encodePprof(doc: { sites: Site[]; window: { end: string; durationMs: number } }, opts: PprofOptions = {}): Buffer {
  const strings = new StringTable();
  const functions = new Map<string, PFunction>();
  const locations = new Map<string, Location>();
  const samples: Sample[] = [];

  /* A frame "func+0xoff [module]" as a location of function func in file module. */
  const location = (frame: string): number => {
    const known = locations.get(frame);
    if (known) return Number(known.id);
    const m = /^(.*?)(\+0x[0-9a-f]+)?(?: \[(.+)\])?$/.exec(frame)!;
    const name = m[1] || frame;
    let fn = functions.get(name);
    if (!fn) {
      fn = new PFunction({ id: functions.size + 1, name: strings.dedup(name), systemName: strings.dedup(name), filename: strings.dedup(m[3] ?? 'kernel') });
      functions.set(name, fn);
    }
    const loc = new Location({ id: locations.size + 1, line: [new Line({ functionId: fn.id })] });
    locations.set(frame, loc);
    return Number(loc.id);
  };
  const add = (frames: string[], c: Counts, objectSize: number) => {
    if (opts.delta ? c.allocs === 0 && c.liveObjects === 0 : c.allocs <= 0 && c.liveObjects <= 0) return;
    const live = opts.delta ? c.liveObjects : Math.max(0, c.liveObjects);
    samples.push(new Sample({ locationId: frames.map(location), value: [c.allocs, c.allocs * objectSize, live, live * objectSize] }));
  };

  for (const s of doc.sites) {
    const site = formatSymbol(s);
    if (!s.stacks) {
      add([site], s, s.objectSize);
      continue;
    }
    let allocs = 0;
    let live = 0;
    for (const st of s.stacks) {
      add(st.frames.length ? st.frames : [site], st, s.objectSize);
      allocs += st.allocs;
      live += st.liveObjects;
    }
    if (s.otherStacks) {
      add([site, `[${s.otherStacks.stacks} more stacks]`], s.otherStacks, s.objectSize);
      allocs += s.otherStacks.allocs;
      live += s.otherStacks.liveObjects;
    }
    add([site, '[no stack]'], { allocs: s.allocs - allocs, liveObjects: s.liveObjects - live }, s.objectSize);
  }

  const profile = new Profile({
    sampleType: SAMPLE_TYPES.map(([type, unit]) => new ValueType({ type: strings.dedup(type), unit: strings.dedup(unit) })),
    sample: samples,
    location: [...locations.values()],
    function: [...functions.values()],
    stringTable: strings,
    timeNanos: BigInt(Date.parse(doc.window.end) || 0) * 1_000_000n,
    durationNanos: BigInt(Math.max(0, Math.round(doc.window.durationMs))) * 1_000_000n,
    defaultSampleType: strings.dedup(opts.defaultSampleType ?? 'inuse_space'),
  });
  return gzipSync(profile.encode());
}

/*
 * The sites of a delta profile: what happened between two snapshots of one
 * session (sites matched by their session index): allocations made and the
 * change in live objects.  Per call site (stacks are left out of deltas).
 */
export function deltaSites(before: Site[], after: Site[]): Site[] {
  const was = new Map(before.map((s) => [s.id, s]));
  const out: Site[] = [];
  for (const s of after) {
    const b = was.get(s.id);
    const allocs = s.allocs - (b?.allocs ?? 0);
    const liveObjects = s.liveObjects - (b?.liveObjects ?? 0);
    if (allocs === 0 && liveObjects === 0) continue;
    out.push({ ...s, allocs, liveObjects, liveBytes: liveObjects * s.objectSize, stacks: undefined, otherStacks: undefined });
  }
  return out;
}
