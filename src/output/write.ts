/*
 * Where a report goes: stdout, or a file written safely (sys/safefs.ts:
 * never through a planted symlink; mode 0600 unless asked otherwise).
 */
import * as fs from 'fs';
import * as path from 'path';
import { KmemtopError } from '../errors';
import { checkNoPlantedLink, DEFAULT_FILE_MODE, writeAll, writeFileSafely } from '../sys/safefs';

/* Write the report to stdout, or to a file, safely (sys/safefs.ts: never through a planted symlink; mode 0600 by default). */
export function writeOutput(text: string, file?: string, mode = DEFAULT_FILE_MODE): void {
  if (!file) {
    writeStdout(text);
    return;
  }
  writeFileSafely(file, text, mode);
}

/* Fail before tracing, not after a long run, when the report cannot be written. */
export function checkWritable(file?: string): void {
  if (!file) return;
  const dir = path.dirname(path.resolve(file));
  checkNoPlantedLink(dir);
  try {
    fs.accessSync(dir, fs.constants.W_OK);
  } catch (e) {
    throw new KmemtopError(`kmemtop: cannot write ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}


/*
 * stdout: redirected to a file, written here and checked (Node would drop
 * a full disk's error and leave a cut file with exit 0); a pipe or terminal
 * through the stream, whose errors main.ts turns into one line.
 */
function writeStdout(text: string): void {
  let isFile = false;
  try {
    isFile = fs.fstatSync(1).isFile();
  } catch {
    isFile = false;
  }
  if (!isFile) {
    process.stdout.write(text);
    return;
  }
  try {
    writeAll(1, Buffer.from(text, 'utf8'));
  } catch (e) {
    throw new KmemtopError(`kmemtop: cannot write the output: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}
