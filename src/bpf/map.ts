/*
 * Reading whole maps from the host.  bpf_map_lookup_batch moves thousands of
 * entries per syscall (100k entries: ~50 ms here, against ~2 s key by key);
 * kernels or map types without batch support fall back to
 * get_next_key + lookup.
 */
import { raw } from './libbpf';
import { BpfError } from './object';

const ENOENT = 2;
const EINVAL = 22;
const ENOSPC = 28;
const ENOTSUPP = 524; /* kernel-internal "not supported", seen by user space */
const EOPNOTSUPP = 95;

export interface MapDump {
  count: number;
  keySize: number;
  /* Bytes per entry in `values` (for per-CPU maps: all CPUs' copies). */
  valueSize: number;
  keys: Buffer;
  values: Buffer;
}

export const BATCH_ENTRIES = 4096;

/* Bytes a per-CPU map hands user space per entry: one 8-aligned copy per possible CPU. */
export function perCpuValueSize(valueSize: number, nrCpus: number): number {
  return Math.ceil(valueSize / 8) * 8 * nrCpus;
}

export function possibleCpus(): number {
  const n = raw.libbpf_num_possible_cpus();
  if (n <= 0) throw new BpfError('count possible CPUs', -n);
  return n;
}

/*
 * slot: which of two result buffer sets to fill (see resultBuffers()); a
 * caller that alternates 0 and 1 keeps the previous dump of the map valid
 * next to the new one (the live view compares them).
 */
export function dumpMap(fd: number, keySize: number, valueSize: number, capacity: number, slot: 0 | 1 = 0): MapDump {
  try {
    return dumpBatched(fd, keySize, valueSize, capacity, slot);
  } catch (e) {
    if (e instanceof BpfError && [EINVAL, ENOTSUPP, EOPNOTSUPP].includes(e.errno)) {
      return dumpKeyByKey(fd, keySize, valueSize, capacity);
    }
    throw e;
  }
}

/*
 * Chunk buffers are reused across calls (the kernel fills them).  So are the
 * result buffers of each map up to RESULT_REUSE_BYTES: the live view reads
 * the same maps every second, and fresh multi-megabyte buffers each time
 * only churn native memory.  A result is therefore valid until the next
 * dumpMap() of the same map and slot; every caller decodes it at once.
 */
let chunkKeys = Buffer.allocUnsafe(0);
let chunkValues = Buffer.allocUnsafe(0);
const RESULT_REUSE_BYTES = 16 << 20;
/* Kept buffers grow in steps of this many entries, not one site at a time. */
const RESULT_STEP = 1024;
const results = new Map<number, { keys: Buffer; values: Buffer }>();

/* Result buffers of fd (and slot) for up to capacity entries: kept and reused, or null when too big to keep. */
function resultBuffers(fd: number, slot: 0 | 1, keySize: number, valueSize: number, capacity: number): { keys: Buffer; values: Buffer } | null {
  if (capacity * (keySize + valueSize) > RESULT_REUSE_BYTES) return null;
  const id = fd * 2 + slot;
  let r = results.get(id);
  if (!r || r.keys.length < capacity * keySize || r.values.length < capacity * valueSize) {
    const entries = Math.max(1, Math.min(Math.ceil(capacity / RESULT_STEP) * RESULT_STEP, Math.floor(RESULT_REUSE_BYTES / (keySize + valueSize))));
    r = { keys: Buffer.allocUnsafe(entries * keySize), values: Buffer.allocUnsafe(entries * valueSize) };
    results.set(id, r);
  }
  return r;
}

/* Forget the result buffers kept for fd (its map is closed; the number may be reused). */
export function forgetMap(fd: number): void {
  results.delete(fd * 2);
  results.delete(fd * 2 + 1);
}

function dumpBatched(fd: number, keySize: number, valueSize: number, capacity: number, slot: 0 | 1): MapDump {
  let chunk = Math.min(BATCH_ENTRIES, Math.max(capacity, 1));
  /* The batch token is opaque; hash maps use a bucket index. Size it generously. */
  const inBatch = Buffer.alloc(Math.max(keySize, 8));
  const outBatch = Buffer.alloc(Math.max(keySize, 8));
  const countBuf = new Uint32Array(1);
  const kept = resultBuffers(fd, slot, keySize, valueSize, capacity);
  const keyParts: Buffer[] = [];
  const valueParts: Buffer[] = [];
  let total = 0;
  let first = true;

  for (;;) {
    if (chunkKeys.length < keySize * chunk) chunkKeys = Buffer.allocUnsafe(keySize * chunk);
    if (chunkValues.length < valueSize * chunk) chunkValues = Buffer.allocUnsafe(valueSize * chunk);
    countBuf[0] = chunk;
    const err = raw.bpf_map_lookup_batch(fd, first ? null : inBatch, outBatch, chunkKeys, chunkValues, countBuf, null);
    const errno = err < 0 ? -err : 0;
    if (errno === ENOSPC && countBuf[0] === 0) {
      /* One bucket holds more entries than the chunk: grow it and retry. */
      chunk *= 2;
      continue;
    }
    if (errno && errno !== ENOENT) throw new BpfError('bpf_map_lookup_batch', errno);
    /* The last call returns ENOENT and may still carry entries. */
    const got = Math.min(countBuf[0], capacity - total);
    if (got > 0 && kept) {
      chunkKeys.copy(kept.keys, total * keySize, 0, got * keySize);
      chunkValues.copy(kept.values, total * valueSize, 0, got * valueSize);
    } else if (got > 0) {
      keyParts.push(Buffer.from(chunkKeys.subarray(0, got * keySize)));
      valueParts.push(Buffer.from(chunkValues.subarray(0, got * valueSize)));
    }
    total += got;
    if (errno === ENOENT || total >= capacity) break;
    outBatch.copy(inBatch);
    first = false;
  }
  if (kept) return { count: total, keySize, valueSize, keys: kept.keys.subarray(0, total * keySize), values: kept.values.subarray(0, total * valueSize) };
  const one = (parts: Buffer[]) => (parts.length === 1 ? parts[0] : Buffer.concat(parts));
  return { count: total, keySize, valueSize, keys: one(keyParts), values: one(valueParts) };
}

function dumpKeyByKey(fd: number, keySize: number, valueSize: number, capacity: number): MapDump {
  const keys = Buffer.alloc(keySize * capacity);
  const values = Buffer.alloc(valueSize * capacity);
  const key = Buffer.alloc(keySize);
  const next = Buffer.alloc(keySize);
  let total = 0;
  let prev: Buffer | null = null;
  while (total < capacity) {
    const err = raw.bpf_map_get_next_key(fd, prev, next);
    if (err === -ENOENT) break;
    if (err < 0) throw new BpfError('bpf_map_get_next_key', -err);
    next.copy(key);
    const v = values.subarray(total * valueSize, (total + 1) * valueSize);
    const lerr = raw.bpf_map_lookup_elem(fd, key, v);
    if (lerr === -ENOENT) {
      prev = key; /* deleted meanwhile: skip it */
      continue;
    }
    if (lerr < 0) throw new BpfError('bpf_map_lookup_elem', -lerr);
    key.copy(keys, total * keySize);
    total++;
    prev = key;
  }
  return { count: total, keySize, valueSize, keys, values };
}

