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
    /* Sorted addresses relative to base. */
    private readonly addrs: Float64Array,
    /* The names of the sorted symbols, end to end, and where each starts (one more: the end). */
    private readonly names: string,
    private readonly nameStarts: Uint32Array,
    /* Each symbol's module, an index into modules (0: the kernel itself). */
    private readonly moduleOf: Uint16Array,
    private readonly modules: (string | null)[],
  ) {}

  get size(): number {
    return this.addrs.length;
  }

  /*
   * Parse the text of /proc/kallsyms (text symbols only). Pure.  Compact by
   * design: ~120k symbols cost a few typed arrays and one string of their
   * names (about 5 MB), not one object per symbol, and not the text (the
   * live view holds this for hours).
   */
  static parse(text: string): Kallsyms {
    /* Pass 1: text symbol lines, their addresses as (high, low) 32-bit halves, and the lowest address. */
    let cap = 1024;
    let starts = new Uint32Array(cap);
    let his = new Uint32Array(cap);
    let los = new Uint32Array(cap);
    let n = 0;
    let nonZero = 0;
    let baseHi = 0xffffffff;
    let baseLo = 0xffffffff;
    for (let pos = 0; pos < text.length; ) {
      let eol = text.indexOf('\n', pos);
      if (eol < 0) eol = text.length;
      /* "ffffffff81000000 T _stext" or "ffffffffc0a01000 t foo\t[mod]" */
      const sp1 = text.indexOf(' ', pos);
      if (sp1 === pos + 16 && sp1 + 3 < eol && text[sp1 + 2] === ' ') {
        const type = text[sp1 + 1];
        const hi = parseInt(text.slice(pos, pos + 8), 16);
        const lo = parseInt(text.slice(pos + 8, pos + 16), 16);
        if ((type === 't' || type === 'T' || type === 'w' || type === 'W') && !Number.isNaN(hi) && !Number.isNaN(lo)) {
          if (n === cap) {
            cap *= 2;
            const grow = (a: Uint32Array) => {
              const b = new Uint32Array(cap);
              b.set(a);
              return b;
            };
            starts = grow(starts);
            his = grow(his);
            los = grow(los);
          }
          starts[n] = pos;
          his[n] = hi;
          los[n] = lo;
          n++;
          if (hi || lo) nonZero++;
          if (hi < baseHi || (hi === baseHi && lo < baseLo)) {
            baseHi = hi;
            baseLo = lo;
          }
        }
      }
      pos = eol + 1;
    }
    if (n > 0 && nonZero === 0) {
      throw new KmemtopError(
        'kmemtop: /proc/kallsyms shows only zero addresses (kernel.kptr_restrict): ' +
          'run as root, or set `sysctl kernel.kptr_restrict=1` (root can read them) or 0',
      );
    }
    /* Relative addresses fit a double exactly: kernel text and modules span far less than 2^53. */
    const rel = new Float64Array(n);
    for (let i = 0; i < n; i++) rel[i] = (his[i] - baseHi) * 0x100000000 + (los[i] - baseLo);
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    order.sort((a, b) => rel[a] - rel[b] || a - b);
    const addrs = new Float64Array(n);
    const nameStarts = new Uint32Array(n + 1);
    const moduleOf = new Uint16Array(n);
    const modules: (string | null)[] = [null];
    const moduleIndex = new Map<string, number>();
    const parts: string[] = [];
    let at = 0;
    for (let i = 0; i < n; i++) {
      addrs[i] = rel[order[i]];
      /* "ffffffff81000000 T name" or "... t name\t[module]" */
      const pos = starts[order[i]];
      let eol = text.indexOf('\n', pos);
      if (eol < 0) eol = text.length;
      const rest = text.slice(pos + 19, eol);
      const tab = rest.indexOf('\t');
      const name = tab < 0 ? rest : rest.slice(0, tab);
      if (tab >= 0) {
        const m = /\[([^\]]+)\]/.exec(rest.slice(tab));
        if (m) {
          let k = moduleIndex.get(m[1]);
          if (k === undefined) {
            k = modules.length;
            modules.push(copyOf(m[1]));
            moduleIndex.set(m[1], k);
          }
          moduleOf[i] = k;
        }
      }
      nameStarts[i] = at;
      at += name.length;
      parts.push(name);
    }
    nameStarts[n] = at;
    /* join() copies: nothing kept refers to the kallsyms text. */
    const names = parts.join('');
    const base = n ? (BigInt(baseHi) << 32n) | BigInt(baseLo) : 0n;
    return new Kallsyms(base, addrs, names, nameStarts, moduleOf, modules);
  }

  static load(path = '/proc/kallsyms'): Kallsyms {
    let text: string;
    try {
      text = fs.readFileSync(path, 'latin1');
    } catch (e) {
      throw new KmemtopError(`kmemtop: cannot read ${path}: ${(e as Error).message}`);
    }
    return Kallsyms.parse(text);
  }

  /* [start, end) of the kernel's own text symbols whose names match (end: the next symbol's start), in address order. */
  ranges(re: RegExp): { name: string; start: bigint; end: bigint }[] {
    const out: { name: string; start: bigint; end: bigint }[] = [];
    for (let i = 0; i + 1 < this.addrs.length; i++) {
      if (this.moduleOf[i] !== 0) continue;
      const name = this.names.slice(this.nameStarts[i], this.nameStarts[i + 1]);
      if (re.test(name)) out.push({ name, start: this.base + BigInt(this.addrs[i]), end: this.base + BigInt(this.addrs[i + 1]) });
    }
    return out;
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
    return {
      function: this.names.slice(this.nameStarts[lo], this.nameStarts[lo + 1]),
      offset: x - this.addrs[lo],
      module: this.modules[this.moduleOf[lo]],
    };
  }
}

/* A copy of s that does not refer to the string it was cut from (V8 slices longer substrings). */
function copyOf(s: string): string {
  return Buffer.from(s, 'latin1').toString('latin1');
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
  if (s.function.startsWith('(')) return s.function; /* a row that is no symbol: "(sites map full)" */
  return `${s.function}+0x${s.offset.toString(16)}${s.module ? ` [${s.module}]` : ''}`;
}
