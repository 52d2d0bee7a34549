/*
 * The tracer flags every tracing command shares (see tracerOptions() in
 * options.ts), and what Tracer.start makes of them.
 */
import type { TracerOptions } from '../collect/tracer';

export interface TracerFlags {
  maxLive: number;
  maxSites: number;
  catchNested: boolean;
  /* --sample N: track 1 object in N (1: all). */
  sample: number;
  /* --irq-off: run the program bodies with interrupts off (for measurements). */
  irqOff: boolean;
  /* --include-self: track kmemtop's own allocations too. */
  includeSelf?: boolean;
}

/* What Tracer.start takes from those flags. */
export function tracerFlags(a: TracerFlags): TracerOptions {
  return { maxLive: a.maxLive, maxSites: a.maxSites, catchNested: a.catchNested, sampleOneIn: a.sample, irqOff: a.irqOff, includeSelf: a.includeSelf ?? false };
}

