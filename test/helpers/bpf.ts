/*
 * Gate for tests that need root and a working BPF: they run when BPF works,
 * are skipped when it does not, and FAIL (never skip) when
 * KMEMTOP_REQUIRE_BPF=1 — as in CI.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { hasBpfCaps, parseCapEff } from '../../src/sys/preflight';

/* The checkout (KMEMTOP_ROOT: when these tests run compiled elsewhere, as in scripts/vmtest's guests). */
export const ROOT = process.env.KMEMTOP_ROOT ?? path.join(__dirname, '..', '..');
export const LOADGEN = path.join(ROOT, 'build', 'loadgen');
export const KMEMTOP = path.join(ROOT, 'bin', 'kmemtop');
export const REQUIRE_BPF = process.env.KMEMTOP_REQUIRE_BPF === '1';

export function bpfUsable(): { ok: boolean; why: string } {
  if (!hasBpfCaps(parseCapEff(fs.readFileSync('/proc/self/status', 'utf8')))) return { ok: false, why: 'not root' };
  if (!fs.existsSync('/sys/kernel/btf/vmlinux')) return { ok: false, why: 'no kernel BTF' };
  if (!fs.existsSync(path.join(ROOT, 'build', 'kmemtop.bpf.o'))) return { ok: false, why: 'BPF object not built' };
  return { ok: true, why: '' };
}

const usable = bpfUsable();

/* describe() for BPF tests: skipped only when BPF is unusable and not required. */
export const describeBpf: jest.Describe = (usable.ok || REQUIRE_BPF ? describe : describe.skip) as jest.Describe;

export function assertBpfUsable(): void {
  if (!usable.ok) throw new Error(`BPF tests required (KMEMTOP_REQUIRE_BPF=1) but BPF is unusable: ${usable.why}`);
}

export interface LoadedProg {
  id: number;
  name?: string;
  recursion_misses?: number;
}

/* Loaded BPF programs whose name starts with kmemtop, as bpftool lists them. */
export function kmemtopProgs(): LoadedProg[] {
  const out = execFileSync('bpftool', ['-j', 'prog', 'show'], { encoding: 'utf8' });
  return (JSON.parse(out) as LoadedProg[]).filter((p) => (p.name ?? '').startsWith('kmemtop'));
}

/* IDs of loaded BPF programs whose name starts with kmemtop. */
export function kmemtopProgIds(): number[] {
  return kmemtopProgs().map((p) => p.id);
}

/*
 * The kernel frees a closed program after an RCU grace period, so bpftool
 * may list it for a moment after close(): poll until the list settles.
 */
export async function kmemtopProgIdsSettled(expected: number[], timeoutMs = 5000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let ids = kmemtopProgIds();
  while (JSON.stringify(ids) !== JSON.stringify(expected) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    ids = kmemtopProgIds();
  }
  return ids;
}
