/*
 * Recursion accounting: the kernel skips a program's run when the program
 * is already running on that CPU (bpf_prog_info.recursion_misses).  For the
 * free tracepoints a *_nested program catches what its primary skipped
 * (--catch-nested); the loss is the misses it did not catch.
 *
 * A tracepoint calls its programs in attach order, so the *_nested program
 * is attached right after its primary (a primary miss in between is a real,
 * counted loss).  At the end the counts are taken, then the primaries are
 * detached before the nested programs: alone, a nested program handles
 * every event, so nothing is lost while the primaries go, and what it
 * handles then is not counted as a catch.
 */
import type { CounterKey } from '../abi/layout';
import { progStats } from '../bpf/proginfo';
import type { ProgramStats, RecursionAccount } from './raw';

/* Counter of the events a free tracepoint's *_nested program caught. */
export const NESTED_CAUGHT: Record<string, CounterKey> = {
  kfree: 'nestedKfreeCaught',
  kmem_cache_free: 'nestedCacheFreeCaught',
};

export interface RecursionSample {
  caught: Record<string, number>;
  misses: Record<string, number>;
}

/*
 * Caught counters first, then misses: a skipped run caught in between
 * counts as a loss, never the other way round.
 */
export function sampleRecursion(counters: () => Record<CounterKey, number>, programs: { name: string; fd: number }[]): RecursionSample {
  const c = counters();
  return sampleOf(c, programStats(programs.map((p) => ({ ...p, tracepoint: '' }))));
}

/* The same from counters and program statistics already read, in that order (one read of each per refresh). */
export function sampleOf(counters: Record<CounterKey, number>, programs: ProgramStats[]): RecursionSample {
  const caught = Object.fromEntries(Object.entries(NESTED_CAUGHT).map(([tp, key]) => [tp, counters[key]]));
  const misses = Object.fromEntries(programs.map((p) => [p.name, p.recursionMisses]));
  return { caught, misses };
}

/* Per program that is not a *_nested one: its misses, and what its *_nested program caught (pure). */
export function recursionAccounts(programs: ProgramStats[], end: RecursionSample): RecursionAccount[] {
  const names = new Set(programs.map((p) => p.name));
  return programs
    .filter((p) => !p.name.endsWith('_nested'))
    .map((p) => {
      const nested = names.has(`${p.name}_nested`) && NESTED_CAUGHT[p.tracepoint] !== undefined;
      if (!nested) return { program: p.name, tracepoint: p.tracepoint, misses: p.recursionMisses, caught: null };
      return { program: p.name, tracepoint: p.tracepoint, misses: end.misses[p.name], caught: end.caught[p.tracepoint] };
    });
}

/* The programs' statistics as the kernel keeps them. */
export function programStats(programs: { name: string; tracepoint: string; fd: number }[]): ProgramStats[] {
  return programs.map((p) => {
    const st = progStats(p.fd);
    return { name: p.name, tracepoint: p.tracepoint, recursionMisses: st.recursionMisses, runCount: st.runCount, runTimeNs: st.runTimeNs };
  });
}
