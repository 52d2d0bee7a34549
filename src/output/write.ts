/*
 * Where a report goes: stdout, or a file written safely (sys/safefs.ts:
 * never through a planted symlink; mode 0600 unless asked otherwise).
 */
import * as fs from 'fs';
import * as path from 'path';
import { KmemtopError } from '../errors';
import { checkNoPlantedLink, DEFAULT_FILE_MODE, writeFileSafely } from '../sys/safefs';

/* Write the report to stdout, or to a file, safely (sys/safefs.ts: never through a planted symlink; mode 0600 by default). */
export function writeOutput(text: string, file?: string, mode = DEFAULT_FILE_MODE): void {
  if (!file) {
    process.stdout.write(text);
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

