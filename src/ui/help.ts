/* The live view's help screen, wrapped to the terminal's width. Pure. */

export const HELP = [
  'kmemtop: kernel memory allocations per call site, live',
  '',
  'Views      Tab / Shift-Tab / 1 2 3 4: call sites, slab caches, shrinkers, memory cgroups (--by-cgroup)',
  'Move       up/down or j/k, PgUp/PgDn, g/G (first/last)',
  'Detail     Enter: details of the selected call site (contexts, sizes, history); Esc closes',
  '           c: its top callers (--stacks), memory cgroups (--by-cgroup), processes (--by-task) in turn',
  'Sort       s or >: next column, <: previous column, r or R: reverse',
  'Baseline   b: mark now, then +LIVE columns show growth since the mark (sorted by it); B: clear',
  'Filter     /: type text (function, cache or module), Enter to apply, Esc to cancel; empty clears',
  'Pause      p or space: freeze the screen (tracing goes on)',
  'Interval   + / -: refresh more / less often; d: type the delay in seconds',
  'Replay     kmemtop replay FILE: left/right a frame, [ ] a minute, Home/End the first/last, t a time; b marks the frame shown',
  'Help       ?: this screen; up/down, PgUp/PgDn scroll it, any other key closes it',
  'Quit       q or Ctrl-C',
  'Unlike top: s sorts (top: delay, here d); < > walk sort columns; no field editor or colour keys.',
  '',
  'Columns    ALLOC/s, FREE/s, BYTES/s: rates over the last interval; AVG: requested bytes per allocation; FRAG%: 1 - requested/allocated; a site is (call site, cache or kmalloc size class).',
  'IRQ%       the share of a site\'s frees made in softirq, hardirq or NMI context.',
  'PHANTOM    tracked live objects above what /proc/slabinfo says the cache holds (frees no tracepoint reported). ~LIVE: the site is in such a cache; the figure is the estimate without its share of the phantom objects (Enter: the upper bound).',
  'CACHE      the cache; a kmalloc one as the kernel picked it from the flags (kmalloc-cg-1k); a merged cache by the name its function or stack names, else the group (signal_cache|UNIX|+1: the cache, an alias, how many more). On a narrow screen, rows that would read alike carry their cache after the call site.',
];

/* The help's lines at this width: long ones wrap at a space, continued under their text (after the key column). */
export function helpLines(width: number): string[] {
  const out: string[] = [];
  for (const line of HELP) {
    let rest = line;
    let indent = '';
    while (indent.length + rest.length > width && width > 20) {
      const room = width - indent.length;
      let cut = rest.lastIndexOf(' ', room);
      if (cut <= 0) cut = room;
      out.push(indent + rest.slice(0, cut));
      rest = rest.slice(cut).trimStart();
      indent = /^\S+ {2,}/.test(line) ? ' '.repeat(11) : '  ';
    }
    out.push(indent + rest);
  }
  return out;
}
