/*
 * The live view's state, changed only by reduce(state, key): a pure
 * function, so every key binding is tested without a terminal.
 */
import { SORT_KEYS } from '../model/snapshot';

export const VIEWS = ['sites', 'caches', 'shrinkers', 'cgroups'] as const;
export type View = (typeof VIEWS)[number];

/* Sort columns per view, in the order < and > walk them. */
export const SORTS: Record<View, readonly string[]> = {
  sites: ['liveBytes', 'liveObjects', 'allocsPerSec', 'freesPerSec', 'bytesPerSec', 'avgSize', 'fragmentation', 'allocs', 'growthBytes', 'growthObjects'],
  caches: ['liveBytes', 'liveObjects', 'allocsPerSec', 'freesPerSec', 'phantomObjects', 'sites'],
  shrinkers: ['freed', 'requested', 'calls', 'timeNs', 'unfreed'],
  cgroups: ['liveBytes', 'liveObjects', 'allocsPerSec', 'allocs', 'sites'],
};

/* What the detail pane lists under a site, in the order c walks them (those recorded). */
export const SPLITS = ['stacks', 'cgroups', 'tasks'] as const;
export type Split = (typeof SPLITS)[number];

export const MIN_INTERVAL_MS = 250;
export const MAX_INTERVAL_MS = 60000;

export interface UiState {
  view: View;
  sort: Record<View, string>;
  reverse: boolean;
  selected: number;
  filter: string;
  /* Text being typed after '/', null when not editing. */
  filterEdit: string | null;
  /* Seconds being typed after 'd', null when not editing. */
  delayEdit: string | null;
  /* kmemtop replay: a time being typed after 't' (the runner jumps on Enter), null when not editing. */
  timeEdit: string | null;
  /*
   * b: a baseline is wanted (growth columns); markSeq counts the b presses,
   * so the runner takes a new mark at each (the reducer knows no clock).
   */
  baseline: boolean;
  markSeq: number;
  paused: boolean;
  intervalMs: number;
  help: boolean;
  /* The first help line shown (up/down scroll the help). */
  helpTop: number;
  detail: boolean;
  /*
   * The selected row by identity (its key): after a refresh re-sorts the
   * rows, the selection and the detail pane stay on it (follow()).
   */
  selectedKey: string | number | null;
  /* A one-line answer to the last key (a hint, or why it did nothing), shown in the footer until the next key. */
  message: string | null;
  /* Which of the site's splits the detail pane lists (c cycles; those not recorded are skipped). */
  split: Split;
  quit: boolean;
}

export function initialState(opts: { intervalMs?: number; sort?: string; filter?: string; view?: View; baseline?: boolean } = {}): UiState {
  const sort = { sites: SORTS.sites[0], caches: SORTS.caches[0], shrinkers: SORTS.shrinkers[0], cgroups: SORTS.cgroups[0] };
  /* Any site sort key (model/snapshot.ts SORT_KEYS); s, < and > cycle through the columns shown. */
  if (opts.sort && (SORT_KEYS as readonly string[]).includes(opts.sort)) sort.sites = opts.sort;
  return {
    view: opts.view ?? 'sites',
    sort: opts.baseline && !opts.sort ? { ...sort, sites: 'growthBytes' } : sort,
    reverse: false,
    selected: 0,
    filter: opts.filter ?? '',
    filterEdit: null,
    delayEdit: null,
    timeEdit: null,
    baseline: opts.baseline ?? false,
    markSeq: 0,
    paused: false,
    intervalMs: clampInterval(opts.intervalMs ?? 1000),
    help: false,
    helpTop: 0,
    detail: false,
    selectedKey: null,
    message: null,
    split: 'stacks',
    quit: false,
  };
}

export function clampInterval(ms: number): number {
  return Math.min(MAX_INTERVAL_MS, Math.max(MIN_INTERVAL_MS, Math.round(ms)));
}

/* Interval steps for + and -. */
const STEPS = [250, 500, 1000, 2000, 5000, 10000, 30000, 60000];

function step(ms: number, dir: 1 | -1): number {
  if (dir > 0) return STEPS.find((s) => s > ms) ?? MAX_INTERVAL_MS;
  return [...STEPS].reverse().find((s) => s < ms) ?? MIN_INTERVAL_MS;
}

/* What the reducer needs to know of the screen beyond the row count. */
export interface KeyContext {
  /* The splits the selected site has (SPLITS recorded for it); undefined: not a site view. */
  splits?: readonly Split[];
  /* The last first line the help can scroll to (its lines less the screen's). */
  helpMax?: number;
  /* kmemtop replay: t types a time to jump to. */
  replay?: boolean;
}

/* Keys of top and htop that mean something else or nothing here: what to press instead. */
const OTHER_TOOLS: Record<string, string> = {
  P: 'P/M/T sort in top: here s or < > walk the sort columns',
  M: 'P/M/T sort in top: here s or < > walk the sort columns',
  T: 'P/M/T sort in top: here s or < > walk the sort columns',
  N: 'here s or < > walk the sort columns',
  f: 'no field editor: columns drop by width; s or < > sort',
  F: 'no field editor: columns drop by width; s or < > sort',
  u: 'no user filter: / filters by function, cache or module',
  o: 'no field filter: / filters by function, cache or module',
  i: 'idle rows stay: / filters by function, cache or module',
  x: 'the sort column is marked v (or ^ when reversed)',
  y: 'the selected row is marked; Enter shows its detail',
  z: 'no colour editor (NO_COLOR=1 turns colour off)',
  e: 'units scale by themselves',
  E: 'units scale by themselves',
  l: 'tab or 1-4 switch views',
  t: 'tab or 1-4 switch views',
  m: 'tab or 1-4 switch views',
  W: 'nothing is saved: start options set the view',
};

/*
 * Keys use blessed's names: 'q', 'S-tab', 'up', 'down', 'enter', 'escape',
 * 'backspace', 'pageup', 'pagedown', 'home', 'end', 'C-c', or the character.
 * rows: how many rows the current view has (for moving the selection);
 * page: rows on one screen.
 */
export function reduce(s: UiState, key: string, rows = Number.MAX_SAFE_INTEGER, page = 10, ctx: KeyContext = {}): UiState {
  if (s.filterEdit !== null) return reduceFilterEdit(s, key);
  if (s.delayEdit !== null) return reduceDelayEdit(s, key);
  if (s.timeEdit !== null) return reduceTimeEdit(s, key);
  if (s.message !== null) s = { ...s, message: null };
  if (s.help) return reduceHelp(s, key, page, ctx.helpMax ?? Number.MAX_SAFE_INTEGER);
  const move = (to: number) => ({ ...s, selected: Math.max(0, Math.min(Math.max(rows - 1, 0), to)) });
  const sorts = SORTS[s.view];
  const sortAt = (d: number) => {
    const i = sorts.indexOf(s.sort[s.view]);
    return { ...s, sort: { ...s.sort, [s.view]: sorts[(i + d + sorts.length) % sorts.length] }, selected: 0 };
  };
  const viewAt = (v: View) => ({ ...s, view: v, selected: 0, detail: false });
  switch (key) {
    case 'q':
    case 'C-c':
      return { ...s, quit: true };
    case '?':
    case 'h':
      return { ...s, help: true, helpTop: 0 };
    case 'up':
    case 'k':
      return move(s.selected - 1);
    case 'down':
    case 'j':
      return move(s.selected + 1);
    case 'pageup':
      return move(s.selected - page);
    case 'pagedown':
      return move(s.selected + page);
    case 'home':
    case 'g':
      return move(0);
    case 'end':
    case 'G':
      return move(rows - 1);
    case 'enter':
      return { ...s, detail: !s.detail };
    case 'escape':
      return { ...s, detail: false };
    case 'tab':
      return viewAt(VIEWS[(VIEWS.indexOf(s.view) + 1) % VIEWS.length]);
    case 'S-tab':
      return viewAt(VIEWS[(VIEWS.indexOf(s.view) + VIEWS.length - 1) % VIEWS.length]);
    case '1':
    case '2':
    case '3':
    case '4':
      return viewAt(VIEWS[Number(key) - 1]);
    case 'c': {
      const have = ctx.splits ?? SPLITS;
      if (have.length === 0) {
        return { ...s, message: 'c needs kmemtop started with --stacks, --by-cgroup or --by-task' };
      }
      const at = have.indexOf(s.split);
      return { ...s, split: have[(at + 1) % have.length], detail: true };
    }
    case 's':
    case '>':
      return sortAt(1);
    case '<':
      return sortAt(-1);
    case 'r':
    case 'R':
      return { ...s, reverse: !s.reverse, selected: 0 };
    case 'b':
      /* Mark now: growth from here, sorted by it. */
      return { ...s, baseline: true, markSeq: s.markSeq + 1, view: 'sites', sort: { ...s.sort, sites: 'growthBytes' }, selected: 0 };
    case 'B':
      return {
        ...s,
        baseline: false,
        sort: { ...s.sort, sites: s.sort.sites.startsWith('growth') ? 'liveBytes' : s.sort.sites },
        selected: 0,
      };
    case 'd':
      return { ...s, delayEdit: '' };
    case 't':
      return ctx.replay ? { ...s, timeEdit: '' } : { ...s, message: `t: ${OTHER_TOOLS.t}; ? for help` };
    case '/':
      return { ...s, filterEdit: s.filter };
    case 'p':
    case 'space':
    case ' ':
      return { ...s, paused: !s.paused };
    case '+':
    case '=':
      /* Refresh more often (the help's words), as in htop. */
      return { ...s, intervalMs: step(s.intervalMs, -1) };
    case '-':
      return { ...s, intervalMs: step(s.intervalMs, 1) };
    default:
      if (key.length === 1 && key > ' ') return { ...s, message: `${key}: ${OTHER_TOOLS[key] ?? 'not a key here'}; ? for help` };
      return s;
  }
}

/* On the help screen: up/down, PgUp/PgDn, g/G scroll it; Ctrl-C quits; any other key closes it. */
function reduceHelp(s: UiState, key: string, page: number, max: number): UiState {
  const to = (top: number) => ({ ...s, helpTop: Math.max(0, Math.min(max, top)) });
  switch (key) {
    case 'C-c':
      return { ...s, quit: true };
    case 'up':
    case 'k':
      return to(s.helpTop - 1);
    case 'down':
    case 'j':
      return to(s.helpTop + 1);
    case 'pageup':
      return to(s.helpTop - page);
    case 'pagedown':
    case 'space':
    case ' ':
      return to(s.helpTop + page);
    case 'home':
    case 'g':
      return to(0);
    case 'end':
    case 'G':
      return to(max);
    default:
      return { ...s, help: false };
  }
}

/*
 * The selection by identity across a refresh: when the row it was on is
 * still there (keys: the rows' keys in their new order), select it where it
 * now is; else keep the position and take that row's key.
 */
export function follow(s: UiState, keys: readonly (string | number)[]): UiState {
  const at = s.selectedKey === null ? -1 : keys.indexOf(s.selectedKey);
  if (at >= 0) return at === s.selected ? s : { ...s, selected: at };
  const selected = Math.max(0, Math.min(s.selected, keys.length - 1));
  const selectedKey = keys.length ? keys[selected] : null;
  return selected === s.selected && selectedKey === s.selectedKey ? s : { ...s, selected, selectedKey };
}

/* After a key moved the selection: the key of the row now selected. */
export function pin(s: UiState, keys: readonly (string | number)[]): UiState {
  const selectedKey = keys[s.selected] ?? null;
  return selectedKey === s.selectedKey ? s : { ...s, selectedKey };
}

function reduceFilterEdit(s: UiState, key: string): UiState {
  const text = s.filterEdit ?? '';
  switch (key) {
    case 'enter':
      return { ...s, filter: text, filterEdit: null, selected: 0 };
    case 'escape':
      return { ...s, filterEdit: null };
    case 'C-c':
      return { ...s, quit: true };
    case 'backspace':
      return { ...s, filterEdit: text.slice(0, -1) };
    case 'C-u':
      return { ...s, filterEdit: '' };
    case 'space':
      return { ...s, filterEdit: text + ' ' };
    default:
      return key.length === 1 ? { ...s, filterEdit: text + key } : s;
  }
}

/*
 * A typed field (d: the delay, t: a time): Escape and Enter end the edit
 * (enter: what Enter does with the text, or null to only end it), C-c quits,
 * Backspace deletes, a character the field takes is appended.
 */
function reduceTyped(s: UiState, key: string, field: 'delayEdit' | 'timeEdit', takes: RegExp, enter: (text: string) => Partial<UiState> = () => ({})): UiState {
  const text = s[field] ?? '';
  switch (key) {
    case 'enter':
      return { ...s, ...enter(text), [field]: null };
    case 'escape':
      return { ...s, [field]: null };
    case 'C-c':
      return { ...s, quit: true };
    case 'backspace':
      return { ...s, [field]: text.slice(0, -1) };
    default:
      return takes.test(key) ? { ...s, [field]: text + key } : s;
  }
}

/* t (replay): a time, typed; Enter ends the edit (the runner jumps to what was typed). */
function reduceTimeEdit(s: UiState, key: string): UiState {
  return reduceTyped(s, key, 'timeEdit', /^[0-9:TZ.+\-smhstarend]$/);
}

/* d: the refresh interval in seconds, typed; Enter applies a valid one (0.25 to 60), else keeps the old. */
function reduceDelayEdit(s: UiState, key: string): UiState {
  return reduceTyped(s, key, 'delayEdit', /^[0-9.]$/, (text) => {
    const sec = Number(text);
    return text && Number.isFinite(sec) && sec > 0 ? { intervalMs: clampInterval(sec * 1000) } : {};
  });
}

/* The keys the footer shows for the current mode. */
export function footerKeys(s: UiState): string {
  if (s.filterEdit !== null) return `filter: ${s.filterEdit}_   Enter apply  Esc cancel  Backspace delete`;
  if (s.delayEdit !== null) return `delay (seconds, ${MIN_INTERVAL_MS / 1000} to ${MAX_INTERVAL_MS / 1000}): ${s.delayEdit}_   Enter apply  Esc cancel`;
  if (s.timeEdit !== null) return `time (start, end, HH:MM[:SS], -5m, +90s): ${s.timeEdit}_   Enter jump  Esc cancel`;
  if (s.message !== null) return s.message;
  if (s.help) return 'up/down PgUp/PgDn scroll  any other key: close help';
  return [
    'q quit',
    '? help',
    'Tab view',
    's sort',
    'r rev',
    s.baseline ? 'B unmark' : 'b mark',
    '/ filter',
    'Enter detail',
    ...(s.paused ? ['p resume'] : []),
    `+/- ${s.intervalMs / 1000}s`,
  ].join('  ');
}
