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
const testFile = path.basename(expect.getState().testPath ?? 'unknown');
const file = testFile.replace(/[^A-Za-z0-9_-]/g, '_');
/*
 * These files test the default pin path and settings file themselves
 * (what another user plants there, their modes, a start killed while
 * pinning): they keep the defaults, and are still stopped when they end.
 */
const OWN_PATHS = new Set(['security.test.ts', 'session.test.ts', 'security.test.js', 'session.test.js']);
if (!OWN_PATHS.has(testFile)) {
  process.env.KMEMTOP_PIN_DIR = `/sys/fs/bpf/kmemtop-test-${file}`;
  process.env.KMEMTOP_SESSION_FILE = `/run/kmemtop-test-${file}/session.json`;
}
const PINS = process.env.KMEMTOP_PIN_DIR ?? '/sys/fs/bpf/kmemtop';
const SETTINGS = process.env.KMEMTOP_SESSION_FILE ?? '/run/kmemtop/session.json';

afterAll(() => {
  if (!fs.existsSync(PINS) && !fs.existsSync(SETTINGS)) return;
  const kmemtop = path.join(process.env.KMEMTOP_ROOT ?? path.join(__dirname, '..', '..'), 'bin', 'kmemtop');
  const r = spawnSync(kmemtop, ['stop'], { encoding: 'utf8' });
  /* "no session is running" is fine (an empty settings directory); pins left behind are not. */
  if (fs.existsSync(PINS)) throw new Error(`test isolation: ${PINS} left after ${testFile} (${fs.readdirSync(PINS).join(', ')}): ${r.stdout}${r.stderr}`);
});
