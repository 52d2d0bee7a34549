/*
 * kmemtop report and watch --on-oom on the real kernel.  Needs root and BPF;
 * cleans up its cgroups, processes and session.
 */
import { execFileSync, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { assertBpfUsable, describeBpf, KMEMTOP, kmemtopProgIds, kmemtopProgIdsSettled, LOADGEN } from './helpers/bpf';
import { Holder, killHolder, startHolder } from './helpers/loadgen';
import { MemCgroup } from './helpers/cgroup';
import { parseMeminfo } from '../src/sys/meminfo';
import { memoryVerdict } from '../src/model/memreport';

const run = (...args: string[]) => spawnSync(KMEMTOP, args, { encoding: 'utf8' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (!cond() && Date.now() < end) await sleep(100);
  return cond();
}

describeBpf('real kernel: memory report and OOM capture', () => {
  let progsBefore: number[] = [];
  let dir: string;

  beforeAll(() => {
    assertBpfUsable();
    progsBefore = kmemtopProgIds();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kmemtop-report-'));
  });
  afterAll(() => {
    run('stop');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('on an idle machine: well-formed, and the verdict is the one /proc/meminfo gives', () => {
    const r = run('report', '--json');
    expect(r.status).toBe(0);
    const rep = JSON.parse(r.stdout);
    expect(rep).toMatchObject({ tool: 'kmemtop', kind: 'report', schemaVersion: 1, kernel: os.release() });
    expect(rep.topCaches).toHaveLength(10);
    expect(rep.fragmentation.zones.length).toBeGreaterThan(0);
    expect(rep.sites).toBeNull();
    expect(rep.sitesUnavailable).toMatch(/no session runs/);
    const v = memoryVerdict(parseMeminfo(fs.readFileSync('/proc/meminfo', 'utf8')));
    expect(rep.verdict.dominant).toBe(v.dominant);
    expect(Math.abs(rep.verdict.share - v.share)).toBeLessThan(0.05);
    const text = run('report');
    expect(text.stdout.split('\n')[1]).toMatch(/^verdict: /);
  });

  it('anonymous memory filled: the verdict says LRU', async () => {
    let hog: Holder | null = null;
    try {
      hog = await startHolder('anon', 2048);
      const rep = JSON.parse(run('report', '--json').stdout);
      expect(rep.verdict.dominant).toBe('lru');
      expect(rep.verdict.text).toMatch(/^LRU dominates \(\d+%\): almost certainly user space$/);
      expect(rep.verdict.lruAnonKb).toBeGreaterThan(2000 * 1024);
    } finally {
      await killHolder(hog);
    }
  });

  it('200k eventfds held during a session move the top sites and caches', async () => {
    expect(run('start', '--max-live', String(1 << 20)).status).toBe(0);
    /* The sandbox caps open files at 20,000 per process (no CAP_SYS_RESOURCE): 11 holders of 19,000. */
    const holders: Holder[] = [];
    try {
      for (let i = 0; i < 11; i++) holders.push(await startHolder('eventfd-hold', 19000, 60000));
      const r = run('report', '--json');
      expect(r.status).toBe(0);
      const rep = JSON.parse(r.stdout);
      expect(rep.sites.source).toBe('session');
      const ev = rep.sites.topLive.find((s: { site: string }) => /^do_eventfd\+/.test(s.site));
      expect(ev).toBeDefined();
      expect(ev.liveObjects).toBeGreaterThanOrEqual(200000);
      const filp = rep.topCaches.find((c: { name: string }) => c.name === 'filp');
      expect(filp).toBeDefined();
      expect(filp.activeObjects).toBeGreaterThanOrEqual(200000);
    } finally {
      for (const h of holders) await killHolder(h);
      run('stop');
    }
  });

  it('watch --on-oom: one report for one OOM kill, and a burst is rate limited', async () => {
    const out = path.join(dir, 'oom');
    const w = spawn(KMEMTOP, ['watch', '--on-oom', '-o', out, '--max-reports', '2', '--per', '600'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    w.stdout.on('data', (d) => (stdout += d));
    w.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => w.once('exit', r));
    const reports = () => (fs.existsSync(out) ? fs.readdirSync(out).filter((f) => f.endsWith('.txt')) : []);
    const kill = () => {
      const cg = new MemCgroup('kmemtop-test-watch', 48 << 20);
      try {
        expect(cg.run(`exec ${LOADGEN} anon 200 < /dev/null`).signal).toBe('SIGKILL');
      } finally {
        cg.remove();
      }
    };
    try {
      expect(await until(() => /watching for OOM kills/.test(stderr), 30000)).toBe(true);
      /* The first kill: its cgroup stays until the report is written, which reads its figures. */
      const cg = new MemCgroup('kmemtop-test-watch', 48 << 20);
      try {
        expect(cg.run(`exec ${LOADGEN} anon 200 < /dev/null`).signal).toBe('SIGKILL');
        expect(await until(() => reports().length === 1, 10000)).toBe(true);
      } finally {
        cg.remove();
      }
      await sleep(1000);
      expect(reports()).toHaveLength(1);
      const text = fs.readFileSync(path.join(out, reports()[0]), 'utf8');
      expect(text).toMatch(/^OOM kill: loadgen \(pid \d+\) at /m);
      /* The memcg OOM: the cgroup, its limit, the request's order and flags. */
      expect(text).toMatch(new RegExp(`^  memory cgroup /${path.basename(cg.dir)}: limit 48MiB, usage .*; at the kill, from the kernel's OOM report\\)$`, 'm'));
      expect(text).toMatch(/^ {2}the request: order \d+ \S*GFP_\S* \(gfp_mask=0x[0-9a-f]+, from the kernel's OOM report\) by loadgen/m);
      /* The cgroup's verdict leads; the machine's (mostly free here) is context. */
      expect(text).toMatch(new RegExp(`^verdict: memory cgroup /${path.basename(cg.dir)} hit its limit; user memory dominates it`, 'm'));
      expect(text).toMatch(/^machine-wide, for context \(this kill was the cgroup's limit, not the machine's memory\): /m);
      /* The figures and flags are the kernel's own (dmesg, read apart from kmemtop): usage within 1%, gfp_mask equal. */
      const json = JSON.parse(fs.readFileSync(path.join(out, reports()[0].replace(/\.txt$/, '.json')), 'utf8'));
      const victim = json.oomVictim;
      const log = execFileSync('dmesg', ['--notime'], { encoding: 'utf8' }).split('\n');
      const end = log.findIndex((l) => l.includes(`,task=loadgen,pid=${victim.pid},`));
      expect(end).toBeGreaterThan(0);
      const start = log.slice(0, end).map((l) => / invoked oom-killer: /.test(l)).lastIndexOf(true);
      const block = log.slice(start, end).join('\n');
      const usageKb = Number(/^memory: usage (\d+)kB/m.exec(block)![1]);
      const gfp = parseInt(/gfp_mask=(0x[0-9a-f]+)/.exec(block)![1], 16);
      expect(Math.abs(victim.memcg.figures.usageBytes - usageKb * 1024)).toBeLessThanOrEqual(0.01 * usageKb * 1024);
      expect(victim.request).toMatchObject({ gfpMask: gfp, source: 'kernel' });
      const anon = /^(?:rss|anon) (\d+)$/m.exec(block);
      if (anon) expect(Math.abs(victim.memcg.figures.anonBytes - Number(anon[1]))).toBeLessThanOrEqual(0.01 * Number(anon[1]));
      expect(text).toMatch(/^ {2}compaction: not involved \(a memory cgroup charge failed, not a page allocation\)$/m);
      expect(text).toMatch(/^ {2}not shown here \(see the kernel log\)/m);
      expect(text).toMatch(/^verdict: /m);
      expect(text).toMatch(/^Largest slab caches$/m);
      expect(fs.existsSync(path.join(out, reports()[0].replace(/\.txt$/, '.json')))).toBe(true);
      expect(stdout).toMatch(/OOM kill of loadgen \(pid \d+\): report in /);

      for (let i = 0; i < 4; i++) kill();
      expect(await until(() => (stderr.match(/rate limit/g) ?? []).length >= 3, 15000)).toBe(true);
      expect(reports()).toHaveLength(2);
    } finally {
      w.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(await kmemtopProgIdsSettled(progsBefore)).toEqual(progsBefore);
  });
});
