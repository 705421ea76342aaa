/**
 * CRC32C (Castagnoli, reflected polynomial 0x82F63B78).
 *
 * `crc32c(data, seed)` has Ceph's semantics (`ceph_crc32c`): the seed is the running
 * register, with no initial or final inversion, so a journal entry's CRC is
 * `crc32c(bytes, 0)` as `journal::Entry` computes it. The standard CRC-32C (iSCSI, RFC 3720)
 * is `crc32c(data, 0xffffffff) ^ 0xffffffff`.
 *
 * Computed by `@node-rs/crc32` (a prebuilt native addon, about 6x the JS below: CRC32C had
 * been 40% of the journal worker's busy time in 1 MiB replay); the table-driven JS
 * (`crc32cJs`, slicing by 8) where that addon has no build for the platform.
 */
import { createRequire } from 'node:module';

type NativeCrc32c = (input: Buffer, initialState?: number) => number;

/** The addon's standard CRC-32C continuing from a previous result; undefined if it cannot load. */
const native: NativeCrc32c | undefined = (() => {
  try {
    return (createRequire(import.meta.url)('@node-rs/crc32') as { crc32c: NativeCrc32c }).crc32c;
  } catch {
    return undefined;
  }
})();

/** Which implementation `crc32c` uses. */
export const CRC32C_IMPL: 'native' | 'js' = native ? 'native' : 'js';

const POLY = 0x82f63b78;

/** T[k][b]: the register after feeding byte b followed by k zero bytes. */
const T: Uint32Array[] = (() => {
  const tables = Array.from({ length: 8 }, () => new Uint32Array(256));
  const t0 = tables[0]!;
  for (let b = 0; b < 256; b++) {
    let c = b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t0[b] = c >>> 0;
  }
  for (let k = 1; k < 8; k++) {
    const prev = tables[k - 1]!;
    const cur = tables[k]!;
    for (let b = 0; b < 256; b++) cur[b] = (prev[b]! >>> 8) ^ t0[prev[b]! & 0xff]!;
  }
  return tables;
})();
const [T0, T1, T2, T3, T4, T5, T6, T7] = T as [Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array];

/** CRC32C of `data[start, end)` continuing from register `seed` (Ceph's convention). */
export const crc32c: (data: Uint8Array, seed?: number, start?: number, end?: number) => number = native
  ? (data, seed = 0, start = 0, end = data.length) =>
    // Ceph's register r continues as the standard CRC of ~r, inverted back.
    ~native(Buffer.from(data.buffer, data.byteOffset + start, end - start), ~seed >>> 0) >>> 0
  : crc32cJs;

/** The same in JavaScript, table-driven (slicing by 8). */
export function crc32cJs(data: Uint8Array, seed = 0, start = 0, end = data.length): number {
  let c = seed >>> 0;
  let i = start;
  // Eight bytes per step: the register absorbs four, the other four are looked up directly.
  for (; i + 8 <= end; i += 8) {
    const a = c ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24));
    c = T7[a & 0xff]! ^ T6[(a >>> 8) & 0xff]! ^ T5[(a >>> 16) & 0xff]! ^ T4[a >>> 24]!
      ^ T3[data[i + 4]!]! ^ T2[data[i + 5]!]! ^ T1[data[i + 6]!]! ^ T0[data[i + 7]!]!;
  }
  for (; i < end; i++) c = (c >>> 8) ^ T0[(c ^ data[i]!) & 0xff]!;
  return c >>> 0;
}
