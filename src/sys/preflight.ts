/*
 * Checks made before touching BPF, each failing with one line that says the
 * fix; and the translation of a failed load or attach into such a line.
 */
import * as fs from 'fs';
import { KmemtopError } from '../errors';
import { BpfError } from '../bpf/object';

const CAP_SYS_ADMIN = 21;
const CAP_PERFMON = 38;
const CAP_BPF = 39;

/* Effective capabilities of this process, from /proc/self/status. Pure over its text. */
export function parseCapEff(status: string): bigint {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
  return m ? BigInt('0x' + m[1]) : 0n;
}

export function hasBpfCaps(capEff: bigint): boolean {
  const has = (c: number) => (capEff & (1n << BigInt(c))) !== 0n;
  return has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON));
}

export function btfPath(): string {
  return process.env.KMEMTOP_BTF_PATH ?? '/sys/kernel/btf/vmlinux';
}

/* Whether this process may load and read BPF programs (root, or CAP_BPF and CAP_PERFMON). */
export function privileged(status = fs.readFileSync('/proc/self/status', 'utf8')): boolean {
  return hasBpfCaps(parseCapEff(status));
}

export function checkPrivileges(status = fs.readFileSync('/proc/self/status', 'utf8')): void {
  if (!hasBpfCaps(parseCapEff(status))) {
    throw new KmemtopError(
      'kmemtop: loading BPF programs needs root (CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN): run it with sudo',
    );
  }
}

export function checkBtf(path = btfPath()): void {
  if (!fs.existsSync(path)) {
    throw new KmemtopError(
      `kmemtop: this kernel exposes no BTF (${path} is missing): kmemtop needs a kernel built with CONFIG_DEBUG_INFO_BTF=y`,
    );
  }
}

export function checkObject(path: string): void {
  if (!fs.existsSync(path)) {
    throw new KmemtopError(`kmemtop: BPF object ${path} is missing: run scripts/build (or scripts/setup)`);
  }
}

/* Everything that can be checked before loading, in the order a user should fix it. */
export function preflight(objectPath: string): void {
  checkPrivileges();
  checkBtf();
  checkObject(objectPath);
}

const ENOENT = 2;
const ESRCH = 3;
const EPERM = 1;
const EACCES = 13;
const ENOSYS = 38;
const EINVAL = 22;
const E2BIG = 7;
const ENOMEM = 12;

/* Which tracepoint a program section names: "tp_btf/kmalloc" -> "kmalloc". */
function tracepointOf(section: string | undefined): string {
  return section ? section.slice(section.indexOf('/') + 1) : 'unknown';
}

/*
 * Turn a failed load or attach into one line with the fix.  `libbpfLog` is
 * libbpf's recent output, which names the program and the missing type.
 */
export function explainBpfFailure(e: BpfError, stage: 'load' | 'attach', libbpfLog: string[], section?: string): KmemtopError {
  const logText = libbpfLog.join('\n');
  const missing = /failed to find kernel BTF type ID of '([^']+)'/.exec(logText);
  if (missing || (stage === 'attach' && e.errno === ENOENT) || e.errno === ESRCH) {
    const tp = missing ? missing[1] : tracepointOf(section);
    return new KmemtopError(
      `kmemtop: this kernel has no tracepoint '${tp}' usable by raw_tp/tp_btf programs (${e.message}); ` +
        'kmemtop needs the kmem tracepoints of Linux 6.1 or later',
    );
  }
  if (e.errno === EPERM || e.errno === EACCES) {
    if (/verifier|processed \d+ insns|R\d/.test(logText) && e.errno === EACCES) {
      return new KmemtopError(`kmemtop: the kernel's verifier rejected a program (${e.message}); rerun with --verbose for its log`);
    }
    return new KmemtopError(
      `kmemtop: the kernel refused to ${stage} BPF programs (${e.message}): run as root; ` +
        'check kernel.unprivileged_bpf_disabled and lockdown (cat /sys/kernel/security/lockdown)',
    );
  }
  if (e.errno === ENOSYS) {
    return new KmemtopError('kmemtop: this kernel does not support BPF (bpf() returned ENOSYS): it needs CONFIG_BPF_SYSCALL=y');
  }
  if (e.errno === E2BIG || e.errno === ENOMEM) {
    return new KmemtopError(`kmemtop: could not create the BPF maps (${e.message}): lower --max-live or --max-sites`);
  }
  if (e.errno === EINVAL && stage === 'load') {
    return new KmemtopError(`kmemtop: the kernel rejected the BPF object (${e.message}); rerun with --verbose for libbpf's log`);
  }
  return new KmemtopError(`kmemtop: BPF ${stage} failed (${e.message}); rerun with --verbose for libbpf's log`);
}
