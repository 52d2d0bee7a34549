/*
 * User-facing errors: a KmemtopError is printed as one line (its message,
 * which says how to fix the problem) and ends the process with its exit
 * code; anything else is a bug and keeps its stack trace.
 */
export class KmemtopError extends Error {
  readonly exitCode: number;

  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = 'KmemtopError';
    this.exitCode = exitCode;
  }
}

export function isKmemtopError(e: unknown): e is KmemtopError {
  return e instanceof KmemtopError;
}
