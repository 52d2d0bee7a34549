/*
 * The kernel's own OOM report, parsed from /dev/kmsg records captured on
 * this machine (a v1 memory cgroup of 48 MiB filled by loadgen anon:
 * test/fixtures/kmsg-oom-memcg-v1.txt, the records as /dev/kmsg gave them).
 */
import * as fs from 'fs';
import * as path from 'path';
import { parseKmsgRecord, parseOomReports, reportFor } from '../src/sys/oomlog';
import { FIXTURES } from './helpers/fixtures';

const records = fs
  .readFileSync(path.join(FIXTURES, 'kmsg-oom-memcg-v1.txt'), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => parseKmsgRecord(l)!);

describe("the kernel's OOM report from its log", () => {
  it('reads a record: stamp and text', () => {
    expect(parseKmsgRecord('6,6625,11234645984,-;memory: usage 49152kB, limit 49152kB, failcnt 19\n SUBSYSTEM=x')).toEqual({ usec: 11234645984, text: 'memory: usage 49152kB, limit 49152kB, failcnt 19' });
    expect(parseKmsgRecord('garbage')).toBeNull();
  });

  it("gives the request's gfp_mask and order and the cgroup's figures at the kill, as dmesg does", () => {
    const [r, ...more] = parseOomReports(records);
    expect(more).toEqual([]);
    expect(r).toEqual({
      pid: 27696,
      comm: 'loadgen',
      usec: 11234646035,
      requester: 'loadgen',
      gfpText: '0xcc0(GFP_KERNEL)',
      gfpMask: 0xcc0,
      order: 0,
      constraint: 'CONSTRAINT_MEMCG',
      memcg: { path: '/kmemtop-capture', usageBytes: 49152 * 1024, limitBytes: 49152 * 1024, kmemBytes: 164 * 1024, anonBytes: 50163712, fileBytes: 0 },
    });
  });

  it('drops a report cut short, and matches a kill by pid within 30 s', () => {
    expect(parseOomReports(records.slice(0, 30))).toEqual([]);
    expect(parseOomReports(records.slice(5))).toEqual([]);
    const reports = parseOomReports(records);
    expect(reportFor(reports, 27696, 11234646035 * 1000 + 2e9)?.pid).toBe(27696);
    expect(reportFor(reports, 27696, 11234646035 * 1000 + 60e9)).toBeNull();
    expect(reportFor(reports, 1, 11234646035 * 1000)).toBeNull();
  });
});
