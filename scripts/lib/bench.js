'use strict';
/* Small helpers the benchmark and measurement scripts share. */
const { execFileSync, spawnSync } = require('child_process');
const path = require('path');

const root = path.join(__dirname, '..', '..');

/* Value of a numeric --name option, or def. */
function arg(name, def) {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}

/* Value of a string --name option, or def. */
function argString(name, def) {
  const i = process.argv.indexOf(name);
  return i > 0 ? String(process.argv[i + 1]) : def;
}

function median(xs) {
  const s = xs.slice().sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/* The p-quantile (0..1) of xs, nearest rank below: p95 of 20 samples is the largest. */
function percentile(xs, p) {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * p))];
}

/* A kB field of /proc/PID/status (VmRSS, VmHWM); null when the process is gone. */
function statusKb(field, pid = 'self') {
  try {
    return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(require('fs').readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
  } catch {
    return null;
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/* Loaded BPF programs, as bpftool lists them. */
function progs() {
  return JSON.parse(execFileSync('bpftool', ['-j', 'prog', 'show'], { encoding: 'utf8' }));
}

const installed = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

/* Stop the tmux server on socket name and remove its socket file (tmux leaves it). */
function killTmux(name) {
  spawnSync('tmux', ['-L', name, 'kill-server']);
  require('fs').rmSync(path.join(process.env.TMUX_TMPDIR || '/tmp', `tmux-${process.getuid()}`, name), { force: true });
}

module.exports = { root, arg, argString, median, percentile, statusKb, sleep, progs, installed, killTmux };
