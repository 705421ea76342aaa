/**
 * Large and chunk-aligned writes' data, outside SQLite: `<data_dir>/objects.data`, an array
 * of chunk-sized units. A chunk row either holds its bytes inline (small unaligned and partial
 * writes) or names a unit here; SQLite stays the only source of truth (which units hold what, which are free).
 *
 * Why: SQLite writes a 4 KiB chunk row as two pages, each twice (WAL, then checkpoint), one
 * syscall per page; 1 MiB went through ~1,000 pwrite calls. A unit run takes one pwrite.
 *
 * Crash story (the invariant: a committed row never names a unit whose bytes changed since):
 * - data goes only to units that no committed row names: taken from the free list, or past
 *   the allocated end, both changed in the same transaction as the rows naming them;
 * - the file is fdatasync'ed before that transaction's COMMIT (`syncIfDirty`), so a
 *   committed row never names bytes that are not on disk;
 * - a unit freed (row deleted or rewritten; SQL triggers fill the free list) is never reused
 *   inside the transaction that freed it (which may yet roll back: only units freed before
 *   that transaction began qualify), and only QUARANTINE_S after it was freed, so that a
 *   reader in another process, which reads the row and then the unit within one synchronous
 *   read transaction, cannot see it rewritten in between;
 * - a crash before COMMIT leaves written-but-unnamed units: free or past the end, harmless.
 *
 * Short runs (a 4 KiB block write) are not written at once: they wait in memory until the
 * transaction commits, and go out sorted, consecutive units in one pwritev. A transaction of
 * 512 random 4 KiB writes that grow the file is one call instead of 512.
 */
import { closeSync, constants, fdatasyncSync, openSync, readSync, writeSync, writevSync } from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { HostError } from '../../errors.js';
import type { Db } from './sqlite-schema.js';

export const DATA_FILE = 'objects.data';
/**
 * Seconds a freed unit waits before reuse (see the crash story above). Freed space waits
 * this long, so a stream of overwrites keeps about this many seconds of writes extra on disk.
 */
export const QUARANTINE_S = 2;
/** Runs shorter than this many units wait for the commit (see above); longer ones are written at once. */
const DEFER_UNITS = 16;
/** Buffers per pwritev (Linux's IOV_MAX). */
const IOV_MAX = 1024;

/** Consecutive units `[unit, unit + count)`. */
export interface UnitRun {
  unit: number;
  count: number;
}

function ioError(e: unknown, what: string): HostError {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC') return new HostError('ERR_SYS_ENOSPC', 'ENOSPC', `store: ${what}: (28) No space left on device`, { cause: e });
  return new HostError('ERR_SYS_EIO', 'EIO', `store: ${what}: ${(e as Error).message}: (5) Input/output error`, { cause: e });
}

export class UnitFile {
  private readonly fd: number;
  private dirty = false;
  /** Wall-clock second the current write transaction began (Committer begin hook). */
  private txStart = 0;
  /** Unit -> its bytes, written at commit (short runs of this transaction). */
  private readonly pending = new Map<number, Uint8Array>();
  /**
   * This transaction found no more free units old enough: none become so before it ends
   * (only units freed before it began qualify), so later allocations skip the query.
   */
  private freeExhausted = false;
  private readonly s: {
    free: Database.Statement<[number, number], { unit: number }>;
    take: Database.Statement<[number, number]>;
    end: Database.Statement<[], { value: number }>;
    setEnd: Database.Statement<[number]>;
  };

  constructor(db: Db, dataDir: string, readonly unitSize: number) {
    const file = join(dataDir, DATA_FILE);
    try {
      this.fd = openSync(file, constants.O_RDWR | constants.O_CREAT, 0o600);
    } catch (e) {
      throw ioError(e, `cannot open ${file}`);
    }
    this.s = {
      free: db.prepare('SELECT unit FROM free_units WHERE freed_at <= ? ORDER BY freed_at, unit LIMIT ?'),
      take: db.prepare('DELETE FROM free_units WHERE unit BETWEEN ? AND ?'),
      end: db.prepare("SELECT value FROM meta WHERE key = 'data_units'"),
      setEnd: db.prepare("UPDATE meta SET value = ? WHERE key = 'data_units'"),
    };
  }

  /** Called as each transaction begins. */
  beginTransaction(): void {
    this.txStart = Math.floor(Date.now() / 1000);
    this.pending.clear();
    this.freeExhausted = false;
  }

  /** `n` units no committed row names, as runs; inside the caller's write transaction. */
  allocate(n: number): UnitRun[] {
    // Freed before this transaction began (its own frees may roll back), and long enough ago.
    const cutoff = Math.min(Math.floor(Date.now() / 1000) - QUARANTINE_S, this.txStart - 1);
    const units = this.freeExhausted ? [] : this.s.free.all(cutoff, n).map((r) => r.unit).sort((a, b) => a - b);
    // (An operation rolled back to its savepoint may have put some back: skipping those only grows the file.)
    if (units.length < n) this.freeExhausted = true;
    const runs: UnitRun[] = [];
    for (const u of units) {
      const last = runs[runs.length - 1];
      if (last && last.unit + last.count === u) last.count++;
      else runs.push({ unit: u, count: 1 });
    }
    // Each run is wholly free (all its units were just listed), so one range delete takes it.
    for (const r of runs) this.s.take.run(r.unit, r.unit + r.count - 1);
    if (units.length < n) {
      const end = Number(this.s.end.get()?.value ?? 0);
      runs.push({ unit: end, count: n - units.length });
      this.s.setEnd.run(end + n - units.length);
    }
    return runs;
  }

  /**
   * Writes `data` (a whole number of units) at `unit`, now or at commit (short runs); on disk
   * before the transaction commits. `data` must not change until then.
   */
  write(unit: number, data: Uint8Array): void {
    this.dirty = true;
    const count = data.length / this.unitSize;
    if (count < DEFER_UNITS) {
      for (let i = 0; i < count; i++) this.pending.set(unit + i, data.subarray(i * this.unitSize, (i + 1) * this.unitSize));
      return;
    }
    // A unit given back by a rolled-back operation and taken again: the newer bytes win.
    if (this.pending.size) for (let i = 0; i < count; i++) this.pending.delete(unit + i);
    this.writeAt(unit, [data]);
  }

  private writeAt(unit: number, parts: Uint8Array[]): void {
    let pos = unit * this.unitSize;
    try {
      let i = 0;
      while (i < parts.length) {
        const iov = parts.slice(i, i + IOV_MAX);
        let n = writevSync(this.fd, iov, pos);
        if (n === 0) throw Object.assign(new Error('write returned 0'), { code: 'EIO' });
        pos += n;
        // A short write: go on from where it stopped.
        while (n > 0 && i < parts.length && n >= parts[i]!.length) n -= parts[i++]!.length;
        if (n > 0) parts[i] = parts[i]!.subarray(n);
      }
    } catch (e) {
      throw ioError(e, `writing at unit ${unit}`);
    }
  }

  /** The waiting short runs, sorted, consecutive units in one pwritev. */
  private writePending(): void {
    if (!this.pending.size) return;
    const units = [...this.pending.keys()].sort((a, b) => a - b);
    let start = 0;
    for (let i = 1; i <= units.length; i++) {
      if (i < units.length && units[i] === units[i - 1]! + 1) continue;
      this.writeAt(units[start]!, units.slice(start, i).map((u) => this.pending.get(u)!));
      start = i;
    }
    this.pending.clear();
  }

  /** Reads `length` bytes from `offset` within `unit` into `out` at `at` (units waiting for the commit too). */
  read(unit: number, offset: number, out: Buffer, at: number, length: number): void {
    if (!this.pending.size) {
      this.readFile(unit, offset, out, at, length);
      return;
    }
    // Units this transaction has not written out yet come from memory; runs of the others
    // are still one pread each.
    let fileFrom = -1;
    const flushFile = (upTo: number) => {
      if (fileFrom >= 0) this.readFile(unit, fileFrom, out, at + fileFrom - offset, upTo - fileFrom);
      fileFrom = -1;
    };
    for (let o = offset; o < offset + length;) {
      const u = unit + Math.floor(o / this.unitSize);
      const from = o % this.unitSize;
      const n = Math.min(offset + length - o, this.unitSize - from);
      const mine = this.pending.get(u);
      if (mine) {
        flushFile(o);
        out.set(mine.subarray(from, from + n), at + o - offset);
      } else if (fileFrom < 0) {
        fileFrom = o;
      }
      o += n;
    }
    flushFile(offset + length);
  }

  private readFile(unit: number, offset: number, out: Buffer, at: number, length: number): void {
    let done = 0;
    try {
      while (done < length) {
        const n = readSync(this.fd, out, at + done, length - done, unit * this.unitSize + offset + done);
        if (n === 0) break; // past the end: never written, reads as zeros (out is zero-filled)
        done += n;
      }
    } catch (e) {
      throw ioError(e, `reading unit ${unit}`);
    }
  }

  /** Called right before COMMIT: the rows about to commit may name units written since the last sync. */
  syncIfDirty(): void {
    if (!this.dirty) return;
    this.writePending();
    try {
      fdatasyncSync(this.fd);
    } catch (e) {
      throw ioError(e, 'syncing the data file');
    }
    this.dirty = false;
  }

  close(): void {
    closeSync(this.fd);
  }
}
