/*
 * Folded stacks (pure): one line per stack, "outermost;...;innermost
 * weight", as flamegraph.pl and speedscope read them.  With --stacks the
 * frames are the allocation's kernel stack (call site innermost); a site's
 * live objects whose stack was not recorded, or that belong to stacks past
 * the top ones, get a line of their own, so the weights add up to the
 * report's figure.  Without --stacks each site is one frame.
 */
import type { Site } from '../model/site';
import { formatSymbol } from '../sys/kallsyms';
import type { RenderOptions } from './formats';

/* A frame as folded text: no ";" (the separator) and no newline in a name. */
function frame(s: string): string {
  return s.replace(/[;\n\r]/g, '_');
}

function siteWeight(s: Pick<Site, 'liveBytes' | 'allocs' | 'bytesAllocated'>, w: RenderOptions['weight']): number {
  return w === 'liveBytes' ? s.liveBytes : w === 'allocs' ? s.allocs : s.bytesAllocated;
}

export function renderFolded(doc: { sites: Site[] }, opts: RenderOptions): string {
  const lines: string[] = [];
  const add = (frames: string[], value: number) => {
    if (value > 0) lines.push(`${frames.map(frame).join(';')} ${value}`);
  };
  for (const s of doc.sites) {
    const site = formatSymbol(s);
    const total = siteWeight(s, opts.weight);
    if (!s.stacks) {
      add([site], total);
      continue;
    }
    let given = 0;
    for (const st of s.stacks) {
      const frames = st.frames.length ? st.frames : [site];
      const v = opts.weight === 'liveBytes' ? st.liveBytes : opts.weight === 'allocs' ? st.allocs : st.allocs * s.objectSize;
      add([...frames].reverse(), v);
      given += v;
    }
    if (s.otherStacks) {
      const o = s.otherStacks;
      const v = opts.weight === 'liveBytes' ? o.liveBytes : opts.weight === 'allocs' ? o.allocs : o.allocs * s.objectSize;
      add([site, `[${o.stacks} more stacks]`], v);
      given += v;
    }
    add([site, '[no stack]'], total - given);
  }
  return lines.join('\n') + (lines.length ? '\n' : '');
}
