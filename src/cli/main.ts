/*
 * Entry point: parse, run, and turn errors into one line and an exit code.
 * Exit codes: the command's own for record; 1 runtime errors; 2 usage errors.
 */
import { parse, UsageError } from './options';
import { runDiff, runRecord, runSnapshot, runStart, runStatus, runStop } from './commands';
import { runTop } from './top';
import { runReport, runWatch } from './report';
import { runServe } from './serve';
import { runReplay } from './replay';
import { runVersion } from './version';
import { isKmemtopError } from '../errors';
import * as log from '../log';

export async function main(argv: string[]): Promise<number> {
  try {
    const p = parse(argv);
    if (p.cmd === 'help') {
      process.stdout.write(p.text + '\n');
      return 0;
    }
    log.setVerbose(p.args.verbose);
    if (p.cmd === 'top') return await runTop(p.args);
    if (p.cmd === 'diff') return runDiff(p.args);
    if (p.cmd === 'start') return await runStart(p.args);
    if (p.cmd === 'report') return await runReport(p.args);
    if (p.cmd === 'watch') return await runWatch(p.args);
    if (p.cmd === 'serve') return await runServe(p.args);
    if (p.cmd === 'replay') return await runReplay(p.args);
    if (p.cmd === 'version') return runVersion(p.args);
    if (p.cmd === 'stop') return await runStop();
    if (p.cmd === 'status') return await runStatus(p.args);
    return p.cmd === 'record' ? await runRecord(p.args) : await runSnapshot(p.args);
  } catch (e) {
    if (e instanceof UsageError) {
      /* One line: yargs words some problems over several. */
      process.stderr.write(`kmemtop: ${e.message.trim().replace(/\s*\n\s*/g, ' ')}\n`);
      return 2;
    }
    if (isKmemtopError(e)) {
      process.stderr.write(e.message + '\n');
      return e.exitCode;
    }
    throw e;
  }
}

/*
 * stdout errors are one line and exit 1 (a reader that went away, EPIPE,
 * ends the output quietly, as for any Unix tool).
 */
export function handleStdoutErrors(): void {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') process.stderr.write(`kmemtop: cannot write the output: ${e.code ?? e.message}\n`);
    process.exit(e.code === 'EPIPE' ? (process.exitCode ?? 0) : 1);
  });
}

if (require.main === module) {
  handleStdoutErrors();
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.stderr.write(`kmemtop: internal error (a bug, please report it): ${(e as Error).stack ?? e}\n`);
      process.exitCode = 70;
    },
  );
}
