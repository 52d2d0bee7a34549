/*
 * The terminal side of the live view: one blessed screen with one box,
 * painted from a Frame.  Owns no timers; the tick loop in top.ts drives it.
 * destroy() restores the terminal and is safe to call twice.
 */
import blessed from 'blessed';
import type { Frame, Line } from './render';

/*
 * Key names the reducer understands, from blessed's keypress event; null
 * for events to ignore (blessed reports one Enter as both "return" and
 * "enter").
 */
export function keyName(ch: string | undefined, key: { full?: string; name?: string } | undefined): string | null {
  const named = ['C-c', 'C-u', 'S-tab', 'tab', 'up', 'down', 'pageup', 'pagedown', 'home', 'end', 'enter', 'escape', 'backspace', 'space'];
  const full = key?.full ?? key?.name ?? '';
  if (full === 'return') return null;
  if (named.includes(full)) return full;
  return ch ?? (full || null);
}

export class Screen {
  private screen: blessed.Widgets.Screen | null;
  private readonly box: blessed.Widgets.BoxElement;

  constructor(private readonly color: boolean) {
    this.screen = blessed.screen({ smartCSR: true, fullUnicode: false, title: 'kmemtop', autoPadding: false, warnings: false });
    this.box = blessed.box({ top: 0, left: 0, width: '100%', height: '100%', tags: true, wrap: false });
    this.screen.append(this.box);
  }

  get width(): number {
    return Number(this.screen?.width ?? 80);
  }

  get height(): number {
    return Number(this.screen?.height ?? 24);
  }

  private styled(l: Line): string {
    const t = blessed.escape(l.text);
    switch (l.style) {
      case 'selected':
        return `{inverse}${t}{/inverse}`;
      case 'heading':
        return `{bold}${t}{/bold}`;
      case 'alert':
        return this.color ? `{red-fg}{bold}${t}{/bold}{/red-fg}` : `{bold}${t}{/bold}`;
      case 'dim':
        return this.color ? `{cyan-fg}${t}{/cyan-fg}` : t;
      default:
        return t;
    }
  }

  paint(f: Frame): void {
    if (!this.screen) return;
    this.box.setContent(f.lines.map((l) => this.styled(l)).join('\n'));
    this.screen.render();
  }

  onKey(fn: (name: string) => void): void {
    this.screen?.on('keypress', (ch: string | undefined, key: { full?: string; name?: string } | undefined) => {
      const name = keyName(ch, key);
      if (name !== null) fn(name);
    });
  }

  onResize(fn: () => void): void {
    this.screen?.on('resize', fn);
  }

  destroy(): void {
    if (!this.screen) return;
    const s = this.screen;
    this.screen = null;
    s.destroy();
  }
}
