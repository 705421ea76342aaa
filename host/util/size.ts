/**
 * Byte sizes as rbd reads and prints them.
 *
 * Parsing follows Ceph's `strict_iecstrtoll`: an integer with an optional binary suffix
 * (`B`, `K`, `M`, `G`, `T`, `P`, `E`, also written `Ki`/`KB`…); no fractions, no signs, no
 * lowercase. Without a suffix the caller's default unit applies (`rbd create --size 10` is
 * 10 MiB; `rbd bench --io-size 4096` is 4096 bytes).
 *
 * Printing follows Ceph's `byte_u_t`: `0 B`, `4 KiB`, `1 GiB`, `1.5 GiB`, with at most
 * three characters of number when a fraction is needed (`27 MiB`, not `27.12 MiB`).
 */
import { err } from '../errors.js';

export type SizeUnit = 'B' | 'K' | 'M' | 'G' | 'T' | 'P' | 'E';

const SHIFT: Record<SizeUnit, number> = { B: 0, K: 10, M: 20, G: 30, T: 40, P: 50, E: 60 };
const SIZE_RE = /^(\d+)(?:([KMGTPE])(?:i|B)?|(B))?$/;

/**
 * Parses `1G`, `64M`, `4K`, `4096`, `1Ti`, `512B` into bytes.
 * @param defaultUnit unit of a bare number (`M` for `--size`, `B` for `--io-size`).
 * @param option the option's name for the error message, e.g. `--size`.
 * @throws ERR_INVALID_ARGUMENT for anything else, or a value above 2^53 - 1.
 * @example parseSize('1G') === 1073741824; parseSize('4096', 'B') === 4096
 */
export function parseSize(s: string, defaultUnit: SizeUnit = 'M', option?: string): number {
  const m = SIZE_RE.exec(s);
  if (!m) throw invalid(s, option, 'expected an integer with an optional B/K/M/G/T/P/E suffix');
  const unit = (m[2] ?? m[3] ?? defaultUnit) as SizeUnit;
  const value = BigInt(m[1]!) << BigInt(SHIFT[unit]);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw invalid(s, option, 'the value is too large');
  return Number(value);
}

function invalid(s: string, option: string | undefined, why: string) {
  const head = option ? `the argument ('${s}') for option '${option}' is invalid` : `invalid size '${s}'`;
  return err('ERR_INVALID_ARGUMENT', `${head}: ${why}`);
}

const UNITS = [' B', ' KiB', ' MiB', ' GiB', ' TiB', ' PiB', ' EiB'] as const;

/**
 * Ceph's `byte_u_t`: `formatBytes(1610612736) === '1.5 GiB'`. Fractions of a byte are
 * dropped first, as the C++ cast to uint64 does.
 */
export function formatBytes(n: number): string {
  const v = BigInt(Math.max(0, Math.floor(Number.isFinite(n) ? n : 0)));
  let index = 0;
  let q = v;
  while (q >= 1024n && index < UNITS.length - 1) {
    q /= 1024n;
    index++;
  }
  const unit = UNITS[index]!;
  const shift = BigInt(10 * index);
  if (index === 0 || v % (1n << shift) === 0n) return `${q}${unit}`;
  // Like format_u: the most decimals (2, 1, then 0) that keep the text within 7 characters.
  let text = '';
  for (let digits = 2; digits >= 0; digits--) {
    text = `${fixedHalfEven(v, shift, digits)}${unit}`;
    if (text.length <= 7) break;
  }
  return text;
}

/** A rate as rbd bench prints it: `formatRate(28311552) === '27 MiB/s'`. */
export function formatRate(bytesPerSecond: number): string {
  return `${formatBytes(bytesPerSecond)}/s`;
}

/**
 * `v / 2^shift` with `digits` decimals, rounded half-to-even on the exact value, as glibc's
 * printf does (Number#toFixed rounds ties up, which differs on values like 100.5).
 */
function fixedHalfEven(v: bigint, shift: bigint, digits: number): string {
  const scaled = v * 10n ** BigInt(digits);
  const den = 1n << shift;
  let q = scaled / den;
  const twice = (scaled % den) * 2n;
  if (twice > den || (twice === den && (q & 1n) === 1n)) q += 1n;
  if (digits === 0) return q.toString();
  const s = q.toString().padStart(digits + 1, '0');
  return `${s.slice(0, -digits)}.${s.slice(-digits)}`;
}
