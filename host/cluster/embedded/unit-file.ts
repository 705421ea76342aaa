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
 * - the file is fdatasync'ed before that transaction's COMMIT (`commitData`), so a
 *   committed row never names bytes that are not on disk;
 * - a unit freed (row deleted or rewritten; SQL triggers fill the free list) is never reused
 *   inside the transaction that freed it (which may yet roll back: only units freed before
 *   that transaction began qualify), and only QUARANTINE_S after it was freed, so that a
 *   reader in another process, which reads the row and then the unit within one synchronous
 *   read transaction, cannot see it rewritten in between;
 * - a crash before COMMIT leaves written-but-unnamed units: free or past the end, harmless.
 *
 * Writes wait in memory until the transaction commits (reads inside it see them), then go
 * out sorted, consecutive units in one pwritev, on libuv's thread pool, and are fdatasync'ed
 * there too: the main thread meanwhile serves the process's other work (in the mirror daemon,
 * the primary cluster's journal reads and the next batch's decode), not the page cache copy.
 * A transaction of 512 random 4 KiB writes that grow the file is one call instead of 512.
 */
import { closeSync, constants, fdatasync, openSync, readSync, writev } from 'node:fs';
import { promisify } from 'node:util';
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
/** Buffers per pwritev (Linux's IOV_MAX). */
const IOV_MAX = 1024;

const fdatasyncAsync = promisify(fdatasync);
const writevAsync = (fd: number, parts: Uint8Array[], pos: number) => new Promise<number>((resolve, reject) =>
  writev(fd, parts, pos, (e, n) => (e ? reject(e) : resolve(n))));

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

/** A write waiting for the commit. */
interface PendingRun {
  unit: number;
  data: Uint8Array;
}

export class UnitFile {
  private readonly fd: number;
  /** Wall-clock second the current write transaction began (Committer begin hook). */
  private txStart = 0;
  /** This transaction's writes, in order, written at commit. */
  private pending: PendingRun[] = [];
  /** Unit -> its newest pending bytes; built by the first read that needs it, then kept up. */
  private index: Map<number, Uint8Array> | undefined;
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
    this.pending = [];
    this.index = undefined;
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
   * Writes `data` (a whole number of units) at `unit` when the transaction commits (before
   * COMMIT, see `commitData`). `data` must not change until then.
   */
  write(unit: number, data: Uint8Array): void {
    this.pending.push({ unit, data });
    if (this.index) this.indexRun(this.index, unit, data);
  }

  /** Each unit of a run -> its bytes in `map`; a unit given back by a rolled-back operation and taken again: the newer bytes win. */
  private indexRun(map: Map<number, Uint8Array>, unit: number, data: Uint8Array): void {
    const C = this.unitSize;
    for (let i = 0; i * C < data.length; i++) map.set(unit + i, data.subarray(i * C, (i + 1) * C));
  }

  /**
   * Called right before COMMIT: the rows about to commit may name units written in this
   * transaction. Resolves once they are written and the file fdatasync'ed; `undefined` when
   * nothing was written.
   */
  commitData(): Promise<void> | undefined {
    if (!this.pending.length) return undefined;
    const runs = this.pending;
    this.pending = [];
    this.index = undefined;
    return this.writeRuns(runs).then(() => fdatasyncAsync(this.fd).catch((e: unknown) => {
      throw ioError(e, 'syncing the data file');
    }));
  }

  /** Runs sorted by unit, consecutive ones as one pwritev each, all at once on the thread pool. */
  private async writeRuns(runs: PendingRun[]): Promise<void> {
    const C = this.unitSize;
    const sorted = [...runs].sort((a, b) => a.unit - b.unit);
    let overlap = false;
    for (let i = 1; i < sorted.length && !overlap; i++) {
      overlap = sorted[i]!.unit < sorted[i - 1]!.unit + sorted[i - 1]!.data.length / C;
    }
    if (overlap) {
      // Rare (a rolled-back operation's units taken again): the newest bytes per unit, in order.
      const units = new Map<number, Uint8Array>();
      for (const r of runs) this.indexRun(units, r.unit, r.data);
      sorted.length = 0;
      for (const u of [...units.keys()].sort((a, b) => a - b)) sorted.push({ unit: u, data: units.get(u)! });
    }
    const writes: Array<Promise<void>> = [];
    let i = 0;
    while (i < sorted.length) {
      const first = sorted[i]!;
      const parts = [first.data];
      let next = first.unit + first.data.length / C;
      i++;
      while (i < sorted.length && sorted[i]!.unit === next && parts.length < IOV_MAX) {
        parts.push(sorted[i]!.data);
        next += sorted[i]!.data.length / C;
        i++;
      }
      writes.push(this.writeAt(first.unit, parts));
    }
    await Promise.all(writes);
  }

  private async writeAt(unit: number, parts: Uint8Array[]): Promise<void> {
    let pos = unit * this.unitSize;
    try {
      let i = 0;
      while (i < parts.length) {
        let n = await writevAsync(this.fd, parts.slice(i), pos);
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

  /** Reads `length` bytes from `offset` within `unit` into `out` at `at` (units waiting for the commit too). */
  read(unit: number, offset: number, out: Buffer, at: number, length: number): void {
    if (!this.pending.length) {
      this.readFile(unit, offset, out, at, length);
      return;
    }
    if (!this.index) {
      this.index = new Map();
      for (const r of this.pending) this.indexRun(this.index, r.unit, r.data);
    }
    const index = this.index;
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
      const mine = index.get(u);
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
        if (n === 0) {
          // Past the end of the file: never written, reads as zeros.
          out.fill(0, at + done, at + length);
          break;
        }
        done += n;
      }
    } catch (e) {
      throw ioError(e, `reading unit ${unit}`);
    }
  }

  close(): void {
    closeSync(this.fd);
  }
}
