/* Number formatting shared by the text outputs. Pure. */

export function bytes(n: number): string {
  const sign = n < 0 ? '-' : '';
  let v = Math.abs(n);
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return sign + (u === 0 ? `${v}${units[0]}` : `${v.toFixed(v < 10 ? 1 : 0)}${units[u]}`);
}

export function count(n: number): string {
  return n.toLocaleString('en-US');
}

export function pad(s: string, width: number, right = true): string {
  if (s.length >= width) return s;
  return right ? s.padStart(width) : s.padEnd(width);
}

/* Render rows as aligned columns; `align` says per column whether to right-align. */
export function table(header: string[], rows: string[][], align: boolean[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 && !align[i] ? c : pad(c, widths[i], align[i])))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}
