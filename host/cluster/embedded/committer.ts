/**
 * Group commit: every operation submitted in the same event-loop turn runs in one SQLite
 * transaction, so concurrent async callers share one fsync.
 *
 * Each operation runs in its own SAVEPOINT: one that throws (a failed guard, ENOENT) rolls
 * back only itself and the others still commit. Results are handed out only after COMMIT
 * returned and `durable` said the commit is on stable storage (wal-sync.ts: an fdatasync of
 * the WAL on the thread pool, while the next batch already runs), so a resolved promise
 * means the write is durable; a read's result waits for the syncs asked for before it.
 * Batches are capped (count and bytes) because better-sqlite3 blocks the thread while a
 * transaction runs.
 *
 * `beforeCommit` may return a promise (the data file's writes and fdatasync, on the thread
 * pool): the transaction stays open until it settles, and the next batch waits for COMMIT.
 */
import { HostError } from '../../errors.js';
import type { Db } from './sqlite-schema.js';

interface Job {
  write: boolean;
  bytes: number;
  run: () => unknown;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

export interface CommitterOptions {
  maxBatchOps?: number;
  maxBatchBytes?: number;
  /** Told at each transaction's start (read or write): per-transaction caches start empty. */
  begin?: () => void;
  /** Runs right before each write transaction's COMMIT; a throw or rejection fails the whole batch. */
  beforeCommit?: () => Promise<void> | undefined;
  /** An operation failed and was rolled back to its savepoint: cached facts may be stale. */
  opFailed?: () => void;
  /**
   * Makes commits durable when COMMIT itself does not sync (wal-sync.ts): `sync` after a
   * COMMIT, `settled` before handing out reads. Without it COMMIT is taken as durable.
   */
  durable?: { sync(): Promise<void>; settled(): Promise<void> | undefined };
}

/** SQLite's errors as errno-bearing HostErrors; anything unexpected stays ERR_INTERNAL. */
export function sqliteError(e: unknown): HostError {
  if (e instanceof HostError) return e;
  const code = (e as { code?: unknown } | null)?.code;
  const msg = e instanceof Error ? e.message : String(e);
  if (code === 'SQLITE_FULL') return new HostError('ERR_SYS_ENOSPC', 'ENOSPC', `store: ${msg}: (28) No space left on device`, { cause: e });
  if (code === 'SQLITE_BUSY') return new HostError('ERR_SYS_EBUSY', 'EBUSY', `store busy: ${msg}: (16) Device or resource busy`, { cause: e });
  if (code === 'SQLITE_READONLY') return new HostError('ERR_SYS_EROFS', 'EROFS', `store: ${msg}: (30) Read-only file system`, { cause: e });
  if (typeof code === 'string' && code.startsWith('SQLITE_IOERR')) {
    return new HostError('ERR_SYS_EIO', 'EIO', `store: ${msg}: (5) Input/output error`, { cause: e });
  }
  return HostError.wrap(e);
}

/** Using a connection after `shutdown()`: ESHUTDOWN, which our errno table calls EBLOCKLISTED. */
export function shutDown(): HostError {
  return new HostError('ERR_SHUTDOWN', 'EBLOCKLISTED', 'cluster connection is shut down: (108) Cannot send after transport endpoint shutdown');
}

export class Committer {
  private readonly queue: Job[] = [];
  private scheduled = false;
  /** A batch is between BEGIN and its outcome (maybe awaiting `beforeCommit`). */
  private running = false;
  private closed = false;
  /** Batches done with SQLite whose results wait for `durable`. */
  private syncing = 0;
  /** Counters for tests and benchmarks: how well operations share transactions. */
  readonly stats = { writeTransactions: 0, writeOps: 0 };
  private idle: Array<() => void> = [];
  private readonly maxOps: number;
  private readonly maxBytes: number;
  private readonly hooks: Pick<CommitterOptions, 'begin' | 'beforeCommit' | 'opFailed' | 'durable'>;
  private readonly stmt: Record<'begin' | 'beginRead' | 'commit' | 'rollback' | 'savepoint' | 'release' | 'rollbackTo', { run(): unknown }>;

  constructor(private readonly db: Db, opts: CommitterOptions = {}) {
    this.maxOps = opts.maxBatchOps ?? 1024;
    this.maxBytes = opts.maxBatchBytes ?? 32 * 1024 * 1024;
    this.hooks = opts;
    this.stmt = {
      // IMMEDIATE takes the write lock up front, so the busy timeout (not a deadlock error)
      // handles another process writing at the same time.
      begin: db.prepare('BEGIN IMMEDIATE'),
      beginRead: db.prepare('BEGIN DEFERRED'),
      commit: db.prepare('COMMIT'),
      rollback: db.prepare('ROLLBACK'),
      savepoint: db.prepare('SAVEPOINT op'),
      release: db.prepare('RELEASE op'),
      rollbackTo: db.prepare('ROLLBACK TO op'),
    };
  }

  /** Queues a write operation; it resolves once its transaction committed. */
  write<T>(run: () => T, bytes = 0): Promise<T> {
    return this.submit(true, bytes, run);
  }

  /** Queues a read; ordered after every operation submitted before it. */
  read<T>(run: () => T): Promise<T> {
    return this.submit(false, 0, run);
  }

  /** Resolves when everything submitted so far has been settled. */
  drain(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /** Settles what is queued, then refuses new work (the connection is shutting down). */
  async close(): Promise<void> {
    await this.drain();
    this.closed = true;
  }

  private submit<T>(write: boolean, bytes: number, run: () => T): Promise<T> {
    if (this.closed) return Promise.reject(shutDown());
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ write, bytes, run, resolve: resolve as (v: unknown) => void, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.running) return;
    this.scheduled = true;
    // setImmediate (not a microtask) lets every caller of this turn, and the continuations
    // of the previous batch's callers, join the batch.
    setImmediate(() => void this.flush());
  }

  private takeBatch(): Job[] {
    let n = 0;
    let bytes = 0;
    while (n < this.queue.length && n < this.maxOps) {
      bytes += this.queue[n]!.bytes;
      n++;
      if (bytes >= this.maxBytes) break;
    }
    return this.queue.splice(0, n);
  }

  private isIdle(): boolean {
    return this.queue.length === 0 && !this.scheduled && !this.running && this.syncing === 0;
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    const batch = this.takeBatch();
    let outcomes: Outcome[];
    let committed = false;
    this.running = true;
    try {
      // Work that slipped in while the connection was closing finds the database gone.
      if (!this.db.open) outcomes = batch.map(() => ({ ok: false, error: shutDown() }));
      else if (batch.some((j) => j.write)) ({ outcomes, committed } = await this.runWrites(batch));
      else outcomes = this.runReads(batch);
    } finally {
      this.running = false;
    }
    // The next batch runs while this one's commit is synced.
    if (this.queue.length > 0) this.schedule();
    const durable = this.hooks.durable;
    const wait = !durable ? undefined : committed ? durable.sync() : durable.settled();
    if (wait) {
      this.syncing++;
      try {
        await wait;
      } catch (e) {
        // Not known to be on stable storage: nobody is told it succeeded.
        const error = sqliteError(e);
        if (committed) outcomes = outcomes.map((o) => (o.ok ? { ok: false, error } : o));
      } finally {
        this.syncing--;
      }
    }
    for (let i = 0; i < batch.length; i++) {
      const o = outcomes[i]!;
      if (o.ok) batch[i]!.resolve(o.value);
      else batch[i]!.reject(o.error);
    }
    if (this.isIdle()) for (const done of this.idle.splice(0)) done();
  }

  private runReads(batch: Job[]): Outcome[] {
    try {
      this.stmt.beginRead.run();
      this.hooks.begin?.();
    } catch (e) {
      return batch.map(() => ({ ok: false, error: sqliteError(e) }));
    }
    // A read snapshot: every read in the batch sees the same committed state.
    const out = batch.map((j): Outcome => {
      try {
        return { ok: true, value: j.run() };
      } catch (e) {
        return { ok: false, error: sqliteError(e) };
      }
    });
    this.abort();
    return out;
  }

  private async runWrites(batch: Job[]): Promise<{ outcomes: Outcome[]; committed: boolean }> {
    const failed = (error: HostError) => ({ outcomes: batch.map((): Outcome => ({ ok: false, error })), committed: false });
    try {
      this.stmt.begin.run();
      this.hooks.begin?.();
    } catch (e) {
      return failed(sqliteError(e));
    }
    const out: Outcome[] = [];
    for (const j of batch) {
      try {
        this.stmt.savepoint.run();
      } catch (e) {
        out.push({ ok: false, error: sqliteError(e) });
        continue;
      }
      try {
        const value = j.run();
        this.stmt.release.run();
        out.push({ ok: true, value });
      } catch (e) {
        out.push({ ok: false, error: sqliteError(e) });
        try {
          this.stmt.rollbackTo.run();
          this.stmt.release.run();
          this.hooks.opFailed?.();
        } catch (e2) {
          // The transaction itself is gone (I/O error, disk full): nothing in it commits.
          const error = sqliteError(e2);
          this.abort();
          return { outcomes: batch.map((_, i) => (i < out.length && !out[i]!.ok ? out[i]! : { ok: false, error })), committed: false };
        }
      }
    }
    try {
      const io = this.hooks.beforeCommit?.();
      if (io) await io;
      this.stmt.commit.run();
    } catch (e) {
      this.abort();
      return failed(sqliteError(e));
    }
    this.stats.writeTransactions++;
    this.stats.writeOps += batch.length;
    return { outcomes: out, committed: true };
  }

  /** Ends the open transaction without keeping anything (read snapshots, failed batches). */
  private abort(): void {
    if (!this.db.inTransaction) return;
    try {
      this.stmt.rollback.run();
    } catch {
      // Nothing left to undo.
    }
  }
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: HostError };
