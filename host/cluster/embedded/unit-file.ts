/**
 * Large writes' data, outside SQLite: `<data_dir>/objects.data`, an array of chunk-sized
 * units. A chunk row either holds its bytes inline (small and partial writes) or names a
 * unit here; SQLite stays the only source of truth (which units hold what, which are free).
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
 */
import { closeSync, constants, fdatasyncSync, openSync, readSync, writeSync } from 'node:fs';
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
  }

  /** `n` units no committed row names, as runs; inside the caller's write transaction. */
  allocate(n: number): UnitRun[] {
    // Freed before this transaction began (its own frees may roll back), and long enough ago.
    const cutoff = Math.min(Math.floor(Date.now() / 1000) - QUARANTINE_S, this.txStart - 1);
    const units = this.s.free.all(cutoff, n).map((r) => r.unit).sort((a, b) => a - b);
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

  /** Writes `data` (a whole number of units) at `unit`; synced before the transaction commits. */
  write(unit: number, data: Uint8Array): void {
    this.dirty = true;
    let done = 0;
    try {
      while (done < data.length) done += writeSync(this.fd, data, done, data.length - done, unit * this.unitSize + done);
    } catch (e) {
      throw ioError(e, `writing ${data.length} bytes at unit ${unit}`);
    }
  }

  /** Reads `length` bytes from `offset` within `unit` into `out` at `at`. */
  read(unit: number, offset: number, out: Buffer, at: number, length: number): void {
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
