/*
 * `kmemtop --version` / `kmemtop version [--json]`: the version, the git
 * commit it was built from (a checkout's build; null in a package built
 * elsewhere), the BPF objects' build id (scripts/build writes
 * dist/build-info.json), and with --json what this kernel allows.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { kernelFacts } from '../sys/features';
import { kernelFeatures } from '../model/features';

interface BuildInfo {
  version: string;
  commit: string | null;
  bpfBuildId: string;
}

function buildInfo(): BuildInfo {
  try {
    return JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'build-info.json'), 'utf8')) as BuildInfo;
  } catch {
    return { version: 'unknown', commit: null, bpfBuildId: 'unknown' };
  }
}

export function runVersion(a: { json: boolean }): number {
  const b = buildInfo();
  if (!a.json) {
    process.stdout.write(`kmemtop ${b.version}${b.commit ? ` (commit ${b.commit})` : ''}, BPF objects ${b.bpfBuildId}, node ${process.versions.node}\n`);
    return 0;
  }
  let kernel: unknown;
  try {
    const facts = kernelFacts();
    kernel = { release: facts.release, features: kernelFeatures(facts, { available: facts.kfuncs.getKmemCache, reason: null }) };
  } catch (e) {
    kernel = { release: os.release(), features: null, unreadable: (e as Error).message };
  }
  process.stdout.write(JSON.stringify({ tool: 'kmemtop', ...b, node: process.versions.node, kernel }, null, 2) + '\n');
  return 0;
}
