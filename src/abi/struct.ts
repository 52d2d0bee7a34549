/*
 * The machinery of the ABI tables: struct layouts declared once, laid out
 * as the C compiler lays them out (test/abi.test.ts compares every table
 * with the BTF of the compiled BPF objects), and the readers they share.
 */
export type Scalar = 'u32' | 'u64';
export interface FieldSpec {
  /* Name in C (as in kmemtop.h). */
  c: string;
  type: FieldType;
}
export type FieldType = Scalar | { char: number } | { array: StructLayout | Scalar; n: number } | StructLayout;
export interface Field {
  c: string;
  offset: number;
  size: number;
  type: FieldType;
}
export interface StructLayout {
  cName: string;
  size: number;
  fields: Field[];
  offsetOf(c: string): number;
}

function sizeAlign(t: FieldType): [number, number] {
  if (t === 'u32') return [4, 4];
  if (t === 'u64') return [8, 8];
  if ('char' in t) return [t.char, 1];
  if (typeof t === 'object' && 'array' in t) {
    const [size, align] = sizeAlign(t.array);
    return [size * t.n, align];
  }
  const align = Math.max(...t.fields.map((f) => sizeAlign(f.type)[1]));
  return [t.size, align];
}

/* Lays fields out as the C compiler does on the BPF and x86-64/arm64 ABIs. */
export function defineStruct(cName: string, specs: FieldSpec[]): StructLayout {
  let off = 0;
  let maxAlign = 1;
  const fields: Field[] = [];
  for (const s of specs) {
    const [size, align] = sizeAlign(s.type);
    off = Math.ceil(off / align) * align;
    fields.push({ c: s.c, offset: off, size, type: s.type });
    off += size;
    maxAlign = Math.max(maxAlign, align);
  }
  const size = Math.ceil(off / maxAlign) * maxAlign;
  /* By name: decoders ask for offsets in loops over every site. */
  const offsets = new Map(fields.map((f) => [f.c, f.offset]));
  return {
    cName,
    size,
    fields,
    offsetOf(c: string): number {
      const off = offsets.get(c);
      if (off === undefined) throw new Error(`struct ${cName} has no field ${c}`);
      return off;
    },
  };
}


/* Read a __u64 counter as a number (exact below 2^53). */
export function readU64(buf: Buffer, off: number): number {
  return buf.readUInt32LE(off) + buf.readUInt32LE(off + 4) * 0x1_0000_0000;
}

/* A NUL-terminated C string of at most len bytes. */
export function cString(buf: Buffer, off: number, len: number): string {
  const b = buf.subarray(off, off + len);
  const nul = b.indexOf(0);
  return b.toString('utf8', 0, nul < 0 ? len : nul);
}
