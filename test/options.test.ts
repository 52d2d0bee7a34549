import { sessionCannotHonour } from '../src/cli/commands';
import { check, parse, UsageError } from '../src/cli/options';
import { givenFlags, parseSize } from '../src/cli/options';

describe('command line', () => {
  it('parses record with the command after --', () => {
    const p = parse(['record', '--top', '5', '--json', '--', 'ls', '-la']);
    expect(p.cmd).toBe('record');
    if (p.cmd !== 'record') throw new Error();
    expect(p.args.command).toEqual(['ls', '-la']);
    expect(p.args.top).toBe(5);
    expect(p.args.json).toBe(true);
  });

  it('parses snapshot --duration', () => {
    const p = parse(['snapshot', '-d', '1.5', '--sort', 'allocs']);
    expect(p).toMatchObject({ cmd: 'snapshot', args: { duration: 1.5, sort: 'allocs' } });
  });

  it('opens the live view with no command, or with top', () => {
    expect(parse([])).toMatchObject({ cmd: 'top', args: { intervalMs: 1000, batch: false, iterations: 1 } });
    expect(parse(['top', '-b', '-n', '3', '-d', '0.5', '--sort', 'allocsPerSec', '--filter', 'skb'])).toMatchObject({
      cmd: 'top',
      args: { intervalMs: 500, batch: true, iterations: 3, sort: 'allocsPerSec', filter: 'skb' },
    });
  });

  it.each([
    [['top', '-d', '0.1'], /--interval takes/],
    [['-n', '0'], /--iterations takes/],
    [['top', '--sort', 'nope'], /Invalid values|sort/],
  ])('rejects top %j', (argv, msg) => {
    expect(() => parse(argv as string[])).toThrow(msg as RegExp);
  });

  it('returns help text for --help', () => {
    const p = parse(['--help']);
    expect(p.cmd).toBe('help');
    if (p.cmd === 'help') expect(p.text).toMatch(/Examples:/);
  });

  it.each([
    [['record'], /record needs a command/],
    [['snapshot', '-d', '0'], /--duration takes/],
    [['record', '--top', '-1', '--', 'true'], /--top takes/],
    [['record', '--sort', 'bogus', '--', 'true'], /Invalid values|sort/],
    [['record', '--max-live', '10', '--', 'true'], /--max-live/],
    [['record', '--settle-ms', '-5', '--', 'true'], /--settle-ms takes/],
    [['bogus'], /Unknown argument|command/],
  ])('rejects %j naming the flag', (argv, msg) => {
    expect(() => parse(argv as string[])).toThrow(UsageError);
    expect(() => parse(argv as string[])).toThrow(msg as RegExp);
  });

  it('parses start, stop, status and diff', () => {
    expect(parse(['start', '--max-live', '65536'])).toMatchObject({ cmd: 'start', args: { maxLive: 65536 } });
    expect(parse(['stop'])).toMatchObject({ cmd: 'stop' });
    expect(parse(['status', '--json'])).toMatchObject({ cmd: 'status', args: { json: true } });
    expect(parse(['diff', 'a.json', 'b.json', '--fail-on-growth', '100', '--module', 'xfs'])).toMatchObject({
      cmd: 'diff',
      args: { before: 'a.json', after: 'b.json', failOnGrowth: 100, module: 'xfs', minChange: 0 },
    });
    expect(() => parse(['diff', 'a.json'])).toThrow(UsageError);
    expect(parse(['diff', 'a', 'b', '--min-change', '4K', '--fail-on-growth', '1.5M'])).toMatchObject({ args: { minChange: 4096, failOnGrowth: 1572864 } });
    expect(parse(['diff', 'a', 'b', '--fail-on-growth', '1GiB'])).toMatchObject({ args: { failOnGrowth: 1 << 30 } });
    expect(() => parse(['diff', 'a', 'b', '--min-change', '4X'])).toThrow(/--min-change takes a number of bytes, or with a unit/);
    expect([parseSize('4096'), parseSize('4k'), parseSize('4KB'), parseSize('2 MiB'), parseSize('512B'), parseSize('-1'), parseSize('')]).toEqual([4096, 4096, 4096, 2 << 20, 512, null, null]);
    expect(() => parse(['diff', 'a', 'b', '--min-change', '-1'])).toThrow(/--min-change/);
  });

  it('check() is pure and returns null when all is well', () => {
    expect(check({ top: 25, maxLive: 1 << 20, maxSites: 16384, sample: 1, settleMs: 0, command: ['x'] }, 'record')).toBeNull();
  });

  it('--sample takes a whole number >= 1, on every tracing command', () => {
    expect(parse(['record', '--sample', '64', '--', 'true'])).toMatchObject({ cmd: 'record', args: { sample: 64 } });
    expect(parse(['top', '--sample', '8'])).toMatchObject({ cmd: 'top', args: { sample: 8 } });
    expect(parse(['start'])).toMatchObject({ cmd: 'start', args: { sample: 1, catchNested: false } });
    for (const bad of ['0', '2.5', '-3', 'x']) {
      expect(() => parse(['record', '--sample', bad, '--', 'true'])).toThrow(/--sample takes a whole number/);
      expect(() => parse(['top', '--sample', bad])).toThrow(/--sample/);
      expect(() => parse(['start', '--sample', bad])).toThrow(/--sample/);
    }
    /* Every tracing command checks the same tracer flags. */
    for (const cmd of ['start', 'report', 'watch', 'top']) {
      expect(() => parse([cmd, '--max-live', '5'])).toThrow(/--max-live takes a whole number/);
      expect(() => parse([cmd, '--max-sites', '1'])).toThrow(/--max-sites takes a whole number/);
    }
  });
});

describe('snapshot: a session read, or a window of its own', () => {
  it('knows which tracing flags were given, not defaulted', () => {
    expect(givenFlags(['snapshot', '--stacks=8', '--by-task', '--top', '3', '--', '--sample', '2'])).toEqual(['--stacks', '--by-task']);
    expect(givenFlags(['snapshot', '--sample', '1'])).toEqual(['--sample']);
    const p = parse(['snapshot', '--sample', '4']);
    expect(p.cmd === 'snapshot' && p.args.given).toEqual(['--sample']);
    expect(() => parse(['snapshot', '--session', '--duration', '2'])).toThrow(/--session reads the running session .* give one of them/);
  });

  it('a read names the first flag the running session cannot honour', () => {
    const session = { sampleOneIn: 64, stackDepth: 0, byCgroup: false, byTask: true, pages: false, catchNested: false, maxLive: 1 << 20, maxSites: 16384 };
    const ask = (given: string[], a: Partial<Parameters<typeof sessionCannotHonour>[1]> = {}) =>
      sessionCannotHonour(session, { given, sample: 1, stackDepth: 0, byCgroup: false, byTask: false, pages: false, catchNested: false, ...a });
    expect(ask([])).toBeNull();
    expect(ask(['--by-task'], { byTask: true })).toBeNull();
    expect(ask(['--sample'], { sample: 64 })).toBeNull();
    expect(ask(['--sample'], { sample: 1 })).toMatch(/^the running session was started with 1 object in 64 tracked: it cannot give --sample \(kmemtop stop/);
    expect(ask(['--stacks'], { stackDepth: 16 })).toMatch(/^the running session was started with --by-task: it cannot give --stacks/);
    expect(ask(['--max-live'])).toMatch(/^--max-live sizes or sets up a session when it starts/);
  });
});
