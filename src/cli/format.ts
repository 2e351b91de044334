/**
 * Plain-text table rendering for the CLI: aligned columns, no colours, no dependency. A
 * dozen lines do not justify a package, and the output must stay stable for scripts that
 * grep it.
 */

/** One column of a table. */
export interface Column {
  readonly header: string;
  /** Numbers read better right-aligned. Default `left`. */
  readonly align?: 'left' | 'right';
}

/** Spaces between two columns. */
export const COLUMN_GAP = 2;

/**
 * Width of `text` in terminal columns, approximated by its code points (not UTF-16 units,
 * so astral letters count once; wide CJK and emoji are undercounted, which node ids,
 * addresses and tags rarely contain).
 */
export function displayWidth(text: string): number {
  return [...text].length;
}

function pad(text: string, width: number, align: 'left' | 'right'): string {
  const fill = ' '.repeat(Math.max(0, width - displayWidth(text)));
  return align === 'right' ? fill + text : text + fill;
}

/**
 * Renders `rows` under `columns` with every column as wide as its widest cell. Missing
 * cells are blank; trailing spaces are trimmed; lines are joined with `\n`, no final one.
 */
export function renderTable(columns: readonly Column[], rows: readonly (readonly string[])[]): string {
  const widths = columns.map((col, i) => Math.max(displayWidth(col.header), ...rows.map((row) => displayWidth(row[i] ?? ''))));
  const line = (cells: readonly string[]): string =>
    columns
      .map((col, i) => pad(cells[i] ?? '', widths[i]!, col.align ?? 'left'))
      .join(' '.repeat(COLUMN_GAP))
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...rows.map(line)].join('\n');
}

/** Renders `key=value` pairs sorted by key, comma-separated; `-` when there are none. */
export function formatPairs(pairs: Readonly<Record<string, string>>): string {
  const entries = Object.entries(pairs).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return entries.length === 0 ? '-' : entries.map(([k, v]) => `${k}=${v}`).join(',');
}
