/**
 * How rbd's C++ prints things, for plain output that matches it byte for byte:
 * `ctime()` timestamps, Ceph's TextTable, and a double through a default `std::ostream`.
 */

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `ctime(3)` without the newline, in local time: `Wed Nov 25 10:21:23 2026` (rbd info 16.2). */
export function ctime(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ` +
    `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())} ${d.getFullYear()}`;
}

export interface Column {
  header: string;
  align: 'left' | 'right';
}

/**
 * Ceph's TextTable as rbd uses it: headers left-aligned, cells aligned per column, every
 * cell padded to the column width, two spaces between columns; the header line carries no
 * trailing padding, data lines do (rbd `ls -l` prints exactly this).
 */
export function textTable(columns: Column[], rows: string[][]): string {
  const widths = columns.map((c, i) => Math.max(c.header.length, ...rows.map((r) => (r[i] ?? '').length)));
  const pad = (s: string, w: number, align: 'left' | 'right') => (align === 'left' ? s.padEnd(w) : s.padStart(w));
  const header = columns.map((c, i) => pad(c.header, widths[i]!, 'left')).join('  ').trimEnd();
  const lines = rows.map((r) => columns.map((c, i) => pad(r[i] ?? '', widths[i]!, c.align)).join('  '));
  return [header, ...lines].map((l) => `${l}\n`).join('');
}

/**
 * A double as `std::cout << x` prints it: `%g` with 6 significant digits, trailing zeros
 * dropped (`6918.92`, `432.432`, `2560`, `1.23457e+06`).
 */
export function cppDouble(x: number): string {
  if (Number.isNaN(x)) return x < 0 ? '-nan' : 'nan';
  if (!Number.isFinite(x)) return x < 0 ? '-inf' : 'inf';
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const precision = 6;
  const [mantissa, expText] = x.toExponential(precision - 1).split('e') as [string, string];
  const exp = Number(expText);
  if (exp >= -4 && exp < precision) return stripZeros(x.toFixed(precision - 1 - exp));
  const e = Math.abs(exp);
  return `${stripZeros(mantissa)}e${exp < 0 ? '-' : '+'}${e < 10 ? `0${e}` : e}`;
}

function stripZeros(s: string): string {
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}
