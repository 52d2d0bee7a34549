/*
 * Test isolation (jest setupFilesAfterEnv): every test file gets its own
 * session pin directory and settings file, inherited by the kmemtop
 * processes it spawns, and whatever session a file left behind is stopped
 * when the file ends.  One failing test is then one failure, not a pinned
 * session that fails the files after it.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

/* bpffs refuses names with a dot: kernels.test.ts -> kernels_test_ts. */
const file = path.basename(expect.getState().testPath ?? 'unknown').replace(/[^A-Za-z0-9_-]/g, '_');
process.env.KMEMTOP_PIN_DIR = `/sys/fs/bpf/kmemtop-test-${file}`;
process.env.KMEMTOP_SESSION_FILE = `/run/kmemtop-test-${file}/session.json`;

afterAll(() => {
  if (!fs.existsSync(process.env.KMEMTOP_PIN_DIR!) && !fs.existsSync(process.env.KMEMTOP_SESSION_FILE!)) return;
  const kmemtop = path.join(process.env.KMEMTOP_ROOT ?? path.join(__dirname, '..', '..'), 'bin', 'kmemtop');
  const r = spawnSync(kmemtop, ['stop'], { encoding: 'utf8' });
  /* "no session is running" is fine (an empty settings directory); pins left behind are not. */
  const pins = process.env.KMEMTOP_PIN_DIR!;
  if (fs.existsSync(pins)) throw new Error(`test isolation: ${pins} left after ${file} (${fs.readdirSync(pins).join(', ')}): ${r.stdout}${r.stderr}`);
});
