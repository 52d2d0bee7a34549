/*
 * The kernel's log, read from /dev/kmsg (root: CAP_SYSLOG) without
 * blocking: each read returns one record; a reader that fell behind a full
 * buffer gets EPIPE once and reads on from the oldest record left.  Opened
 * only when an OOM kill needs the kernel's own report of it
 * (model/oomlog.ts); its OOM reports are kept, the other records dropped.
 */
import * as fs from 'fs';
import { KernelOomReport, KmsgRecord, parseKmsgRecord, parseOomReports } from './oomlog';

/* Records kept between reads: an OOM report cut by a read boundary is parsed whole on the next one. */
const CARRY = 400;
/* OOM reports kept (the newest). */
const KEEP = 64;

export class KernelLog {
  private fd: number | null;
  private readonly buf = Buffer.alloc(8192);
  private carry: KmsgRecord[] = [];
  private reports: KernelOomReport[] = [];
  /* Why the log cannot be read, or null. */
  readonly unavailable: string | null;

  constructor(file = '/dev/kmsg') {
    try {
      this.fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
      this.unavailable = null;
    } catch (e) {
      this.fd = null;
      this.unavailable = `${file} unreadable (${(e as NodeJS.ErrnoException).code ?? 'error'})`;
    }
  }

  /* Read what the kernel logged since the last call; the OOM reports seen so far. */
  oomReports(): KernelOomReport[] {
    if (this.fd === null) return this.reports;
    const records = this.carry;
    for (;;) {
      let n: number;
      try {
        n = fs.readSync(this.fd, this.buf, 0, this.buf.length, null);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EPIPE') continue; /* overwritten records skipped: read on */
        if (code === 'EAGAIN') break;
        throw e;
      }
      if (n <= 0) break;
      const r = parseKmsgRecord(this.buf.toString('utf8', 0, n));
      if (r) records.push(r);
    }
    /* The last "invoked oom-killer" without its oom-kill line yet is carried over, with what follows it. */
    const parsed = parseOomReports(records);
    const seen = new Set(this.reports.map((r) => `${r.pid}@${r.usec}`));
    for (const r of parsed) if (!seen.has(`${r.pid}@${r.usec}`)) this.reports.push(r);
    if (this.reports.length > KEEP) this.reports = this.reports.slice(-KEEP);
    const lastStart = records.map((r) => / invoked oom-killer: /.test(r.text)).lastIndexOf(true);
    const lastEnd = records.map((r) => /^oom-kill:/.test(r.text)).lastIndexOf(true);
    this.carry = lastStart > lastEnd ? records.slice(lastStart, lastStart + CARRY) : [];
    return this.reports;
  }

  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }
}
