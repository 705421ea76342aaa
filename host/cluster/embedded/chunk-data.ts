/**
 * Object data as fixed-size chunk rows: row `objectId << 16 | index` holds bytes
 * [index * chunkSize, index * chunkSize + length) of the object; a shorter blob or a
 * missing row reads as zeros. Holes are never stored: a chunk that becomes all zeros is
 * deleted. Invariant: no stored byte lies at or beyond the object's size, so growing an
 * object (truncate up, write past the end) needs no zero-filling.
 *
 * A row holds its bytes inline (`data`), or, for whole chunks of a large or chunk-aligned
 * write, names a unit of the data file (`unit`, `data` empty; see unit-file.ts): one pwrite
 * for the run instead of two SQLite pages per chunk. SQLite has no incremental BLOB I/O, so
 * a partial write is a read-modify-write of its chunk rows (into inline rows); a write that
 * covers a chunk (or everything of it below the object's end) replaces the row without
 * reading it. Rewritten or deleted rows give their unit back through SQL triggers
 * (sqlite-schema.ts).
 */
import type Database from 'better-sqlite3';
import type { Db } from './sqlite-schema.js';
import type { UnitFile } from './unit-file.js';

const SLOTS = 65536;
/**
 * Writes at least this long put their whole chunks in the data file; so do writes of whole
 * chunks (a block device's aligned 4 KiB writes): inline, SQLite writes such a chunk as a
 * leaf and an overflow page, each twice (WAL, checkpoint). 4 KiB random replay went from
 * 13.9k to 17k events/s. Unaligned small writes (journal appends) stay inline.
 */
export const LARGE_WRITE = 64 * 1024;

type Row = { k: number; data: Buffer; unit: number | null };
const EMPTY = Buffer.alloc(0);
/** Unit rows per upsert statement: a 1 MiB write is 4 statements, not 256. */
const PUT_ROWS = 64;

export class ChunkStore {
  private readonly zeros: Buffer;
  private readonly getOne: Database.Statement<[number], Row>;
  private readonly getRange: Database.Statement<[number, number], Row>;
  private readonly put: Database.Statement<[number, Buffer, number | null]>;
  private readonly putMany: Database.Statement<Array<number | Buffer>>;
  private readonly delOne: Database.Statement<[number]>;
  private readonly delRange: Database.Statement<[number, number]>;

  constructor(db: Db, readonly chunkSize: number, private readonly units: UnitFile) {
    this.zeros = Buffer.alloc(chunkSize);
    this.getOne = db.prepare<[number], Row>('SELECT k, data, unit FROM chunks WHERE k = ?');
    this.getRange = db.prepare<[number, number], Row>('SELECT k, data, unit FROM chunks WHERE k BETWEEN ? AND ? ORDER BY k');
    // An upsert (not INSERT OR REPLACE, which deletes without firing the delete trigger) so
    // a row that named a unit frees it.
    this.put = db.prepare<[number, Buffer, number | null]>(
      'INSERT INTO chunks (k, data, unit) VALUES (?, ?, ?) ON CONFLICT (k) DO UPDATE SET data = excluded.data, unit = excluded.unit',
    );
    this.putMany = db.prepare<Array<number | Buffer>>(
      `INSERT INTO chunks (k, data, unit) VALUES ${Array(PUT_ROWS).fill('(?, ?, ?)').join(', ')}
       ON CONFLICT (k) DO UPDATE SET data = excluded.data, unit = excluded.unit`,
    );
    this.delOne = db.prepare<[number]>('DELETE FROM chunks WHERE k = ?');
    this.delRange = db.prepare<[number, number]>('DELETE FROM chunks WHERE k BETWEEN ? AND ?');
  }

  private key(objId: number, idx: number): number {
    return objId * SLOTS + idx;
  }

  private isZero(blob: Uint8Array): boolean {
    return blob.length === 0 || Buffer.from(blob.buffer, blob.byteOffset, blob.length).equals(this.zeros.subarray(0, blob.length));
  }

  private store(k: number, blob: Buffer): void {
    if (this.isZero(blob)) this.delOne.run(k);
    else this.put.run(k, blob, null);
  }

  /** A row's bytes (a unit's are always a whole chunk). */
  private bytes(row: Row): Buffer {
    if (row.unit === null) return row.data;
    const out = Buffer.alloc(this.chunkSize);
    this.units.read(row.unit, 0, out, 0, this.chunkSize);
    return out;
  }

  private old(k: number): Buffer | undefined {
    const row = this.getOne.get(k);
    return row ? this.bytes(row) : undefined;
  }

  /** Bytes [offset, offset + length) clamped to `size`: a short read past the end. */
  read(objId: number, size: number, offset: number, length: number): Buffer {
    const end = Math.min(size, offset + length);
    if (end <= offset) return Buffer.alloc(0);
    // Not zero-filled up front (that was a sixth of a journal-reading worker's time): stored
    // bytes are copied in and only the holes between them are zeroed, in order.
    const out = Buffer.allocUnsafeSlow(end - offset);
    let filled = 0;
    const zeroUpTo = (at: number) => {
      if (at > filled) out.fill(0, filled, at);
    };
    const C = this.chunkSize;
    const first = Math.floor(offset / C);
    const last = Math.floor((end - 1) / C);
    // Consecutive chunks in consecutive units are read with one pread.
    let run: { unit: number; from: number; at: number; len: number } | undefined;
    const flush = () => {
      if (run) this.units.read(run.unit, run.from, out, run.at, run.len);
      run = undefined;
    };
    for (const row of this.getRange.iterate(this.key(objId, first), this.key(objId, last))) {
      const cStart = (row.k - objId * SLOTS) * C;
      const stored = row.unit === null ? row.data.length : C;
      const from = Math.max(offset, cStart) - cStart;
      const to = Math.min(end, cStart + stored) - cStart;
      if (to <= from) continue;
      const at = cStart + from - offset;
      zeroUpTo(at);
      filled = at + to - from;
      if (row.unit === null) {
        row.data.copy(out, at, from, to);
        continue;
      }
      if (run && from === 0 && run.at + run.len === at && (run.from + run.len) % C === 0
        && run.unit + (run.from + run.len) / C === row.unit) {
        run.len += to;
        continue;
      }
      flush();
      run = { unit: row.unit, from, at, len: to - from };
    }
    flush();
    zeroUpTo(out.length);
    return out;
  }

  /** Writes `data` at `offset` of an object currently `oldSize` bytes long. */
  write(objId: number, oldSize: number, offset: number, data: Buffer): void {
    const C = this.chunkSize;
    const end = offset + data.length;
    if (end === offset) return;
    // Whole chunks bound for units, by their offset in `data` (no view per chunk: a 1 MiB
    // write has 256 of them, and each view is garbage for the scavenger).
    const whole: Array<{ k: number; at: number }> = [];
    const toUnits = data.length >= LARGE_WRITE || (offset % C === 0 && data.length % C === 0);
    for (let idx = Math.floor(offset / C); idx * C < end; idx++) {
      const cStart = idx * C;
      const from = Math.max(offset, cStart) - cStart;
      const to = Math.min(end, cStart + C) - cStart;
      const at = cStart + from - offset;
      const k = this.key(objId, idx);
      if (toUnits && from === 0 && to === C) {
        if (data.compare(this.zeros, 0, C, at, at + C) !== 0) whole.push({ k, at });
        else this.delOne.run(k);
        continue;
      }
      const piece = data.subarray(at, at + to - from);
      if (from === 0 && (to === C || cStart + to >= oldSize)) {
        this.store(k, piece);
        continue;
      }
      const old = cStart >= oldSize ? undefined : this.old(k);
      const buf = Buffer.alloc(Math.max(old?.length ?? 0, to));
      old?.copy(buf);
      piece.copy(buf, from);
      this.store(k, buf);
    }
    if (whole.length) this.writeUnits(data, whole);
  }

  /** Whole chunks of a large write: fresh units, written run by run, then the rows naming them. */
  private writeUnits(data: Buffer, whole: Array<{ k: number; at: number }>): void {
    const C = this.chunkSize;
    let i = 0;
    for (const run of this.units.allocate(whole.length)) {
      // Chunks are consecutive in `data` unless zero chunks were skipped between.
      let j = 0;
      while (j < run.count) {
        let n = 1;
        const first = whole[i + j]!.at;
        while (j + n < run.count && whole[i + j + n]!.at === first + n * C) n++;
        this.units.write(run.unit + j, Buffer.from(data.buffer, data.byteOffset + first, n * C));
        j += n;
      }
      let m = 0;
      for (; m + PUT_ROWS <= run.count; m += PUT_ROWS) {
        const args: Array<number | Buffer> = [];
        for (let r = m; r < m + PUT_ROWS; r++) args.push(whole[i + r]!.k, EMPTY, run.unit + r);
        this.putMany.run(...args);
      }
      for (; m < run.count; m++) this.put.run(whole[i + m]!.k, EMPTY, run.unit + m);
      i += run.count;
    }
  }

  /** Shrinks stored data to `newSize` (growing stores nothing: the new tail is a hole). */
  truncate(objId: number, oldSize: number, newSize: number): void {
    if (newSize >= oldSize) return;
    const C = this.chunkSize;
    const keepChunks = Math.ceil(newSize / C);
    this.delRange.run(this.key(objId, keepChunks), this.key(objId, SLOTS - 1));
    const tail = newSize % C;
    if (tail === 0) return;
    const k = this.key(objId, keepChunks - 1);
    const old = this.old(k);
    if (old && old.length > tail) this.store(k, old.subarray(0, tail));
  }

  /** Zeroes [offset, offset + length) of an object `size` bytes long; the size is unchanged. */
  zero(objId: number, size: number, offset: number, length: number): void {
    const end = Math.min(size, offset + length);
    if (end <= offset) return;
    const C = this.chunkSize;
    // Chunks wholly inside the range, or whose stored part ends inside it, just go.
    const firstWhole = Math.ceil(offset / C);
    const lastWhole = end === size ? Math.ceil(end / C) - 1 : Math.floor(end / C) - 1;
    if (lastWhole >= firstWhole) this.delRange.run(this.key(objId, firstWhole), this.key(objId, lastWhole));
    const partial = new Set<number>();
    if (firstWhole * C > offset) partial.add(Math.floor(offset / C));
    if (lastWhole < Math.floor((end - 1) / C)) partial.add(Math.floor((end - 1) / C));
    for (const idx of partial) {
      const cStart = idx * C;
      const k = this.key(objId, idx);
      const old = this.old(k);
      const from = Math.max(offset, cStart) - cStart;
      if (!old || old.length <= from) continue;
      const to = Math.min(end - cStart, old.length);
      const buf = Buffer.from(old);
      buf.fill(0, from, to);
      this.store(k, to === old.length ? buf.subarray(0, from) : buf);
    }
  }

  removeAll(objId: number): void {
    this.delRange.run(this.key(objId, 0), this.key(objId, SLOTS - 1));
  }
}
