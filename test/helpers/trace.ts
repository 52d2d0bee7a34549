/* Trace while work() runs, freeze the maps, and return the snapshot; nothing stays loaded. */
import { Tracer, TracerOptions } from '../../src/collect/tracer';
import { Kallsyms } from '../../src/sys/kallsyms';
import { buildSnapshot, Snapshot } from '../../src/model/snapshot';

export function traced(syms: Kallsyms, work: () => void, opts: TracerOptions = {}): Snapshot {
  const t = Tracer.start(opts);
  try {
    work();
    t.detach();
    return buildSnapshot(t.read(), t.window, (ip) => syms.resolve(ip));
  } finally {
    t.close();
  }
}
