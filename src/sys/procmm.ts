/*
 * /proc/buddyinfo and /proc/vmstat: free pages by order per zone, and the
 * compaction, allocation-stall and OOM counters.  Parsers are pure.
 */
import * as fs from 'fs';

export interface ZoneFree {
  node: number;
  zone: string;
  /* Free blocks of each order (2^order pages), order 0 first. */
  freeBlocks: number[];
}

export function parseBuddyinfo(text: string): ZoneFree[] {
  const out: ZoneFree[] = [];
  for (const line of text.split('\n')) {
    const m = /^Node (\d+), zone\s+(\S+)\s+(.*)$/.exec(line.trim());
    if (!m) continue;
    out.push({ node: Number(m[1]), zone: m[2], freeBlocks: m[3].trim().split(/\s+/).map(Number) });
  }
  return out;
}

export function parseVmstat(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [k, v] = line.split(' ');
    if (k && v !== undefined && /^\d+$/.test(v)) out.set(k, Number(v));
  }
  return out;
}

function readOr<T>(file: string, parse: (t: string) => T): T | null {
  try {
    return parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

export const readBuddyinfo = () => readOr('/proc/buddyinfo', parseBuddyinfo);
export const readVmstat = () => readOr('/proc/vmstat', parseVmstat);
