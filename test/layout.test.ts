import {
  CACHE_INFO,
  decodeCacheInfo,
  decodeSiteKey,
  decodeSiteStatsPerCpu,
  smallInt,
  readU64,
  SITE_STATS,
  CONTEXTS,
  sumContexts,
  sumPerCpuU64,
} from '../src/abi/layout';
import { defineStruct } from '../src/abi/struct';
import { perCpuValueSize } from '../src/bpf/map';

describe('layout', () => {
  it('lays out fields with C alignment and tail padding', () => {
    const l = defineStruct('t', [
      { c: 'a', type: 'u32' },
      { c: 'b', type: 'u64' },
      { c: 'c', type: 'u32' },
    ]);
    expect(l.fields.map((f) => f.offset)).toEqual([0, 8, 16]);
    expect(l.size).toBe(24);
    expect(() => l.offsetOf('nope')).toThrow(/no field nope/);
  });

  it('reads u64 counters above 2^32 exactly', () => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(0x1_2345_6789n);
    expect(readU64(b, 0)).toBe(0x1_2345_6789);
  });

  it('decodes a site key with kernel addresses as BigInt', () => {
    const b = Buffer.alloc(16);
    b.writeBigUInt64LE(0xffffffff81234567n, 0);
    b.writeBigUInt64LE(0xffff888100001000n, 8);
    expect(decodeSiteKey(b)).toEqual({ callSite: 0xffffffff81234567n, cache: 0xffff888100001000n });
  });

  it('sums per-CPU site_stats copies, per context', () => {
    const cpus = 3;
    const b = Buffer.alloc(perCpuValueSize(SITE_STATS.size, cpus));
    const stride = SITE_STATS.size;
    for (let cpu = 0; cpu < cpus; cpu++) {
      const at = (f: string, i = 0) => cpu * stride + SITE_STATS.offsetOf(f) + i * 8;
      CONTEXTS.forEach((_c, i) => {
        b.writeBigUInt64LE(BigInt(cpu + 1 + i * 10), at('allocs', i));
        b.writeBigUInt64LE(BigInt(cpu + 2 + i * 10), at('frees', i));
      });
      b.writeBigUInt64LE(100n, at('bytes_req'));
      b.writeBigUInt64LE(1n, at('untracked_allocs'));
      b.writeBigUInt64LE(2n, at('frees_unseen'));
      b.writeBigUInt64LE(3n, at('failed_allocs'));
    }
    const s = decodeSiteStatsPerCpu(b, 0, cpus);
    /* cpu 1+2+3 = 6 plus 3 x i*10 */
    expect(CONTEXTS.map((c) => s.allocs[c.key])).toEqual(CONTEXTS.map((_c, i) => 6 + 30 * i));
    expect(CONTEXTS.map((c) => s.frees[c.key])).toEqual(CONTEXTS.map((_c, i) => 9 + 30 * i));
    expect(sumContexts(s.allocs)).toBe(6 * 6 + 30 * 15);
    expect(s).toMatchObject({ bytesReq: 300, untrackedAllocs: 3, freesUnseen: 6, failedAllocs: 9 });
  });

  it('sums counters past 32 bits exactly (small ones come back as the same numbers)', () => {
    const cpus = 2;
    const b = Buffer.alloc(perCpuValueSize(SITE_STATS.size, cpus));
    const at = (cpu: number, f: string, i = 0) => cpu * SITE_STATS.size + SITE_STATS.offsetOf(f) + i * 8;
    b.writeBigUInt64LE(0x7fffffffn, at(0, 'allocs', 0)); /* task: 2^31 - 1 + 1 = 2^31 */
    b.writeBigUInt64LE(1n, at(1, 'allocs', 0));
    b.writeBigUInt64LE(0xffffffffn, at(0, 'allocs', 1)); /* task-bh: 2 x (2^32 - 1) */
    b.writeBigUInt64LE(0xffffffffn, at(1, 'allocs', 1));
    b.writeBigUInt64LE(1n << 40n, at(0, 'bytes_req'));
    b.writeBigUInt64LE((1n << 52n) + 5n, at(1, 'bytes_req'));
    b.writeBigUInt64LE(0x7ffffffen, at(0, 'frees', 0));
    const s = decodeSiteStatsPerCpu(b, 0, cpus);
    expect(s.allocs.task).toBe(2 ** 31);
    expect(s.allocs.taskBh).toBe(2 * (2 ** 32 - 1));
    expect(s.bytesReq).toBe(2 ** 40 + 2 ** 52 + 5);
    expect(s.frees.task).toBe(0x7ffffffe);
    expect([smallInt(0), smallInt(0x7fffffff), smallInt(0x80000000), smallInt(2 ** 53 - 1)]).toEqual([0, 0x7fffffff, 0x80000000, 2 ** 53 - 1]);
  });

  it('decodes cache_info names without trailing NULs', () => {
    const b = Buffer.alloc(CACHE_INFO.size);
    b.write('kmalloc-256', 0);
    b.writeUInt32LE(200, CACHE_INFO.offsetOf('object_size'));
    b.writeUInt32LE(256, CACHE_INFO.offsetOf('size'));
    expect(decodeCacheInfo(b)).toEqual({ name: 'kmalloc-256', objectSize: 200, size: 256 });
  });

  it('sums per-CPU u64 array values', () => {
    const b = Buffer.alloc(16);
    b.writeBigUInt64LE(5n, 0);
    b.writeBigUInt64LE(7n, 8);
    expect(sumPerCpuU64(b, 2)).toBe(12);
    expect(perCpuValueSize(12, 2)).toBe(32);
  });
});
