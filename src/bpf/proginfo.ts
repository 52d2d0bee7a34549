/*
 * Per-program statistics the kernel keeps: recursion_misses (runs skipped
 * because the program was already running on that CPU) always; run_cnt and
 * run_time_ns only while kernel.bpf_stats_enabled is on.
 */
import { raw } from './libbpf';
import { BpfError } from './object';
import { BPF_PROG_INFO, readU64 } from '../abi/layout';

export interface ProgStats {
  id: number;
  recursionMisses: number;
  runCount: number;
  runTimeNs: number;
  /* Instructions the verifier processed to load it (Linux 5.16+; 0 before): the distance to its 1M limit. */
  verifiedInsns: number;
}

export function progStats(fd: number): ProgStats {
  const info = Buffer.alloc(BPF_PROG_INFO.size);
  const len = new Uint32Array([BPF_PROG_INFO.size]);
  const err = raw.bpf_obj_get_info_by_fd(fd, info, len);
  if (err < 0) throw new BpfError('bpf_obj_get_info_by_fd', -err);
  const o = BPF_PROG_INFO.offsets;
  return {
    id: info.readUInt32LE(o.id),
    recursionMisses: readU64(info, o.recursion_misses),
    runCount: readU64(info, o.run_cnt),
    runTimeNs: readU64(info, o.run_time_ns),
    verifiedInsns: info.readUInt32LE(o.verified_insns),
  };
}
