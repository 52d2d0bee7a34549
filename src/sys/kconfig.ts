/*
 * The kernel's build configuration, as libbpf finds it: /boot/config-$(uname -r),
 * else /proc/config.gz.  kmemtop needs one value from it: CONFIG_HZ, the
 * tick rate, so that the BPF programs can stamp allocations from jiffies
 * (a load) instead of a clock read (bpf/stamp.h).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as zlib from 'zlib';

/* CONFIG_HZ in the text of a kernel config; 0 when it is not there. Pure. */
export function parseKconfigHz(text: string): number {
  const m = /^CONFIG_HZ=(\d+)$/m.exec(text);
  const hz = m ? Number(m[1]) : 0;
  return hz > 0 && hz <= 10000 ? hz : 0;
}

function readConfig(): string | null {
  for (const read of [() => fs.readFileSync(`/boot/config-${os.release()}`, 'utf8'), () => zlib.gunzipSync(fs.readFileSync('/proc/config.gz')).toString('utf8')]) {
    try {
      return read();
    } catch {
      /* not there: the next one */
    }
  }
  return null;
}

let cached: number | undefined;

/* This kernel's CONFIG_HZ, or 0 when its config cannot be read (the programs then stamp from the monotonic clock). */
export function kernelHz(): number {
  if (cached === undefined) {
    const text = readConfig();
    cached = text === null ? 0 : parseKconfigHz(text);
  }
  return cached;
}
