/**
 * Journal entry framing, byte for byte Ceph's `journal::Entry` version 1 (little-endian):
 *
 * ```
 * u64 preamble 0x3141592653589793 │ u8 version 1 │ u64 entry_tid │ u64 tag_tid
 * u32 data_len │ data │ u32 crc32c (seed 0, over preamble … data)
 * ```
 * A data object is a concatenation of entries. The decoder reads them in order; a bad
 * preamble, version or CRC is reported as corrupt and the decoder resyncs on the next
 * preamble (as Ceph's ObjectPlayer does); an entry cut short at the end of the object is a
 * torn tail (an append that never completed), not an error.
 */
import { crc32c } from './crc32c.js';

export const PREAMBLE = 0x3141592653589793n;
export const ENTRY_VERSION = 1;
/** preamble + version + entry_tid + tag_tid + data_len. */
export const ENTRY_HEADER_SIZE = 29;
export const ENTRY_OVERHEAD = ENTRY_HEADER_SIZE + 4;

const PREAMBLE_BYTES = (() => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(PREAMBLE);
  return b;
})();

export interface DecodedEntry {
  tagTid: number;
  entryTid: number;
  objectNumber: number;
  /** Byte offset of the entry in its object. */
  offset: number;
  payload: Uint8Array;
}

export interface CorruptEntry {
  objectNumber: number;
  offset: number;
  /** What the frame claimed, when its header was readable. */
  tagTid?: number;
  entryTid?: number;
  reason: string;
}

export interface DecodedObject {
  entries: DecodedEntry[];
  corrupt: CorruptEntry[];
  /** Bytes at the end that hold an incomplete entry. */
  tornBytes: number;
}

export function encodeEntry(tagTid: number, entryTid: number, payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(ENTRY_OVERHEAD + payload.length);
  out.writeBigUInt64LE(PREAMBLE, 0);
  out.writeUInt8(ENTRY_VERSION, 8);
  out.writeBigUInt64LE(BigInt(entryTid), 9);
  out.writeBigUInt64LE(BigInt(tagTid), 17);
  out.writeUInt32LE(payload.length, 25);
  out.set(payload, ENTRY_HEADER_SIZE);
  const end = ENTRY_HEADER_SIZE + payload.length;
  out.writeUInt32LE(crc32c(out, 0, 0, end), end);
  return out;
}

/** Decodes every entry of one data object. */
export function decodeObject(data: Uint8Array, objectNumber: number): DecodedObject {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const entries: DecodedEntry[] = [];
  const corrupt: CorruptEntry[] = [];
  let p = 0;
  while (p < buf.length) {
    if (buf.length - p < ENTRY_OVERHEAD) {
      // A short remainder that does not even start with a preamble is garbage, not a tear.
      if (isPreamblePrefix(buf, p)) return { entries, corrupt, tornBytes: buf.length - p };
      corrupt.push({ objectNumber, offset: p, reason: 'garbage after the last entry' });
      return { entries, corrupt, tornBytes: 0 };
    }
    if (buf.readBigUInt64LE(p) !== PREAMBLE) {
      const next = buf.indexOf(PREAMBLE_BYTES, p + 1);
      corrupt.push({ objectNumber, offset: p, reason: 'bad preamble' });
      if (next < 0) return { entries, corrupt, tornBytes: 0 };
      p = next;
      continue;
    }
    const version = buf.readUInt8(p + 8);
    const entryTid = Number(buf.readBigUInt64LE(p + 9));
    const tagTid = Number(buf.readBigUInt64LE(p + 17));
    const len = buf.readUInt32LE(p + 25);
    const end = p + ENTRY_HEADER_SIZE + len;
    if (end + 4 > buf.length) {
      // Either a tear (the last append did not finish) or a corrupted length; only a later
      // preamble can tell them apart.
      const next = buf.indexOf(PREAMBLE_BYTES, p + 1);
      if (next < 0) return { entries, corrupt, tornBytes: buf.length - p };
      corrupt.push({ objectNumber, offset: p, tagTid, entryTid, reason: 'length runs past the next entry' });
      p = next;
      continue;
    }
    const want = buf.readUInt32LE(end);
    const reason = version !== ENTRY_VERSION ? `unknown entry version ${version}` : crc32c(buf, 0, p, end) !== want ? 'CRC32C mismatch' : undefined;
    if (reason) {
      corrupt.push({ objectNumber, offset: p, tagTid, entryTid, reason });
      const next = buf.indexOf(PREAMBLE_BYTES, p + 1);
      if (next < 0) return { entries, corrupt, tornBytes: 0 };
      p = next;
      continue;
    }
    entries.push({ tagTid, entryTid, objectNumber, offset: p, payload: buf.subarray(p + ENTRY_HEADER_SIZE, end) });
    p = end + 4;
  }
  return { entries, corrupt, tornBytes: 0 };
}

function isPreamblePrefix(buf: Buffer, p: number): boolean {
  const n = Math.min(8, buf.length - p);
  return buf.subarray(p, p + n).equals(PREAMBLE_BYTES.subarray(0, n));
}
