/*
 * Symbolization of kernel text addresses from /proc/kallsyms.
 *
 * Loaded once, sorted, binary-searched for the largest symbol address <= ip.
 * Addresses are stored relative to the lowest one as float64 (the kernel's
 * text and module ranges span far less than 2^53), which keeps the search
 * free of BigInt arithmetic.  Module names are kept: `func+0x1a [xfs]`.
 */
import * as fs from 'fs';
import { KmemtopError } from '../errors';

export interface Symbol {
  function: string;
  offset: number;
  module: string | null;
}

export class Kallsyms {
  private constructor(
    private readonly base: bigint,
    private readonly addrs: Float64Array,
    private readonly names: string[],
    private readonly modules: (string | null)[],
  ) {}

  get size(): number {
    return this.names.length;
  }

  /* Parse the text of /proc/kallsyms (text symbols only). Pure. */
  static parse(text: string): Kallsyms {
    const rows: { addr: bigint; name: string; module: string | null }[] = [];
    let nonZero = 0;
    for (const line of text.split('\n')) {
      if (!line) continue;
      /* "ffffffff81000000 T _stext" or "ffffffffc0a01000 t foo\t[mod]" */
      const sp1 = line.indexOf(' ');
      const sp2 = line.indexOf(' ', sp1 + 1);
      if (sp1 < 0 || sp2 < 0) continue;
      const type = line[sp1 + 1];
      if (type !== 't' && type !== 'T' && type !== 'w' && type !== 'W') continue;
      const rest = line.slice(sp2 + 1);
      const tab = rest.indexOf('\t');
      const name = tab < 0 ? rest : rest.slice(0, tab);
      let module: string | null = null;
      if (tab >= 0) {
        const m = /\[([^\]]+)\]/.exec(rest.slice(tab));
        module = m ? m[1] : null;
      }
      const addr = BigInt('0x' + line.slice(0, sp1));
      if (addr !== 0n) nonZero++;
      rows.push({ addr, name, module });
    }
    if (rows.length > 0 && nonZero === 0) {
      throw new KmemtopError(
        'kmemtop: /proc/kallsyms shows only zero addresses (kernel.kptr_restrict): ' +
          'run as root, or set `sysctl kernel.kptr_restrict=1` (root can read them) or 0',
      );
    }
    rows.sort((a, b) => (a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : 0));
    const base = rows.length ? rows[0].addr : 0n;
    const addrs = new Float64Array(rows.length);
    rows.forEach((r, i) => (addrs[i] = Number(r.addr - base)));
    return new Kallsyms(
      base,
      addrs,
      rows.map((r) => r.name),
      rows.map((r) => r.module),
    );
  }

  static load(path = '/proc/kallsyms'): Kallsyms {
    let text: string;
    try {
      text = fs.readFileSync(path, 'utf8');
    } catch (e) {
      throw new KmemtopError(`kmemtop: cannot read ${path}: ${(e as Error).message}`);
    }
    return Kallsyms.parse(text);
  }

  private readonly memo = new Map<bigint, Symbol | null>();

  /* The symbol containing ip, or null when ip lies below every symbol. Memoized: call sites repeat. */
  resolve(ip: bigint): Symbol | null {
    let sym = this.memo.get(ip);
    if (sym === undefined) {
      sym = this.lookup(ip);
      this.memo.set(ip, sym);
    }
    return sym;
  }

  private lookup(ip: bigint): Symbol | null {
    if (this.addrs.length === 0 || ip < this.base) return null;
    const x = Number(ip - this.base);
    let lo = 0;
    let hi = this.addrs.length - 1;
    if (x < this.addrs[0]) return null;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.addrs[mid] <= x) lo = mid;
      else hi = mid - 1;
    }
    return { function: this.names[lo], offset: x - this.addrs[lo], module: this.modules[lo] };
  }
}

/* Address of a text symbol by name, from the kallsyms text; null if absent (or hidden). */
export function findSymbolAddress(text: string, name: string): bigint | null {
  const m = new RegExp(`^([0-9a-f]+) [tTwW] ${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm').exec(text);
  if (!m) return null;
  const a = BigInt('0x' + m[1]);
  return a === 0n ? null : a;
}

/* `func+0x1a [module]`, the form every output uses. */
export function formatSymbol(s: Symbol): string {
  return `${s.function}+0x${s.offset.toString(16)}${s.module ? ` [${s.module}]` : ''}`;
}
