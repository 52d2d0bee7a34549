import { Kallsyms, formatSymbol } from '../src/sys/kallsyms';
import { KmemtopError } from '../src/errors';
import { fixtureKallsyms } from './helpers/fixtures';

describe('kallsyms (fixture captured from this kernel, rebased)', () => {
  const syms = fixtureKallsyms();

  it('keeps only text symbols', () => {
    expect(syms.size).toBeGreaterThan(50);
  });

  it('resolves an address inside a function to function+offset', () => {
    const s = syms.resolve(0xffffffff81734de0n + 0x34n);
    expect(s).toEqual({ function: 'do_eventfd', offset: 0x34, module: null });
    expect(formatSymbol(s!)).toBe('do_eventfd+0x34');
  });

  it('resolves the first byte of a function to offset 0', () => {
    expect(syms.resolve(0xffffffff81734de0n)!.offset).toBe(0);
  });

  it('keeps module names', () => {
    const s = syms.resolve(0xffffffffc0201000n + 5n);
    expect(s).toEqual({ function: 'ftrace_trampoline', offset: 5, module: '__builtin__ftrace' });
    expect(formatSymbol(s!)).toBe('ftrace_trampoline+0x5 [__builtin__ftrace]');
  });

  it('returns null below the first symbol', () => {
    expect(syms.resolve(0x1000n)).toBeNull();
  });

  it('says how to fix kptr_restrict when every address is zero', () => {
    const hidden = '0000000000000000 T _text\n0000000000000000 t do_eventfd\n';
    expect(() => Kallsyms.parse(hidden)).toThrow(KmemtopError);
    expect(() => Kallsyms.parse(hidden)).toThrow(/kptr_restrict/);
  });

  it('ignores data symbols and malformed lines', () => {
    const k = Kallsyms.parse('ffffffff81000000 T a\nffffffff82000000 D data\ngarbage\nffffffff81000100 t b\n');
    expect(k.size).toBe(2);
    expect(k.resolve(0xffffffff82000010n)!.function).toBe('b');
  });
});
