/**
 * Object data as fixed-size chunk rows: row `objectId << 16 | index` holds bytes
 * [index * chunkSize, index * chunkSize + blob.length) of the object; a shorter blob or a
 * missing row reads as zeros. Holes are never stored: a chunk that becomes all zeros is
 * deleted. Invariant: no stored byte lies at or beyond the object's size, so growing an
 * object (truncate up, write past the end) needs no zero-filling.
 *
 * SQLite has no incremental BLOB I/O, so a partial write is a read-modify-write of its
 * chunk rows; a write that covers a chunk (or everything of it below the object's end)
 * replaces the row without reading it.
 */
import type Database from 'better-sqlite3';
import type { Db } from './sqlite-schema.js';

const SLOTS = 65536;

export class ChunkStore {
  private readonly zeros: Buffer;
  private readonly getOne: Database.Statement<[number], { data: Buffer }>;
  private readonly getRange: Database.Statement<[number, number], { k: number; data: Buffer }>;
  private readonly put: Database.Statement<[number, Buffer]>;
  private readonly delOne: Database.Statement<[number]>;
  private readonly delRange: Database.Statement<[number, number]>;

  constructor(db: Db, readonly chunkSize: number) {
    this.zeros = Buffer.alloc(chunkSize);
    this.getOne = db.prepare<[number], { data: Buffer }>('SELECT data FROM chunks WHERE k = ?');
    this.getRange = db.prepare<[number, number], { k: number; data: Buffer }>(
      'SELECT k, data FROM chunks WHERE k BETWEEN ? AND ? ORDER BY k',
    );
    this.put = db.prepare<[number, Buffer]>('INSERT OR REPLACE INTO chunks (k, data) VALUES (?, ?)');
    this.delOne = db.prepare<[number]>('DELETE FROM chunks WHERE k = ?');
    this.delRange = db.prepare<[number, number]>('DELETE FROM chunks WHERE k BETWEEN ? AND ?');
  }

  private key(objId: number, idx: number): number {
    return objId * SLOTS + idx;
  }

  private store(k: number, blob: Buffer): void {
    if (blob.length === 0 || blob.equals(this.zeros.subarray(0, blob.length))) this.delOne.run(k);
    else this.put.run(k, blob);
  }

  /** Bytes [offset, offset + length) clamped to `size`: a short read past the end. */
  read(objId: number, size: number, offset: number, length: number): Buffer {
    const end = Math.min(size, offset + length);
    if (end <= offset) return Buffer.alloc(0);
    const out = Buffer.alloc(end - offset);
    const C = this.chunkSize;
    const first = Math.floor(offset / C);
    const last = Math.floor((end - 1) / C);
    for (const row of this.getRange.iterate(this.key(objId, first), this.key(objId, last))) {
      const cStart = (row.k - objId * SLOTS) * C;
      const from = Math.max(offset, cStart) - cStart;
      const to = Math.min(end, cStart + row.data.length) - cStart;
      if (to > from) row.data.copy(out, cStart + from - offset, from, to);
    }
    return out;
  }

  /** Writes `data` at `offset` of an object currently `oldSize` bytes long. */
  write(objId: number, oldSize: number, offset: number, data: Buffer): void {
    const C = this.chunkSize;
    const end = offset + data.length;
    if (end === offset) return;
    for (let idx = Math.floor(offset / C); idx * C < end; idx++) {
      const cStart = idx * C;
      const from = Math.max(offset, cStart) - cStart;
      const to = Math.min(end, cStart + C) - cStart;
      const piece = data.subarray(cStart + from - offset, cStart + to - offset);
      const k = this.key(objId, idx);
      if (from === 0 && (to === C || cStart + to >= oldSize)) {
        this.store(k, piece);
        continue;
      }
      const old = cStart >= oldSize ? undefined : this.getOne.get(k)?.data;
      const buf = Buffer.alloc(Math.max(old?.length ?? 0, to));
      old?.copy(buf);
      piece.copy(buf, from);
      this.store(k, buf);
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
    const old = this.getOne.get(k)?.data;
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
      const old = this.getOne.get(k)?.data;
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
