/*
 * kmemtop's own log: warnings always go to stderr, debug lines (including
 * libbpf's) only with --verbose.
 */
let verbose = false;
let sink: (line: string) => void = (line) => process.stderr.write(line + '\n');

export function setVerbose(on: boolean): void {
  verbose = on;
}

export function isVerbose(): boolean {
  return verbose;
}

/* For tests: capture log lines instead of writing them to stderr. */
export function setSink(fn: (line: string) => void): void {
  sink = fn;
}

export function debug(msg: string): void {
  if (verbose) sink(`kmemtop: debug: ${msg}`);
}

export function warn(msg: string): void {
  sink(`kmemtop: warning: ${msg}`);
}
