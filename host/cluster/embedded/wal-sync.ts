/**
 * Makes committed transactions durable on libuv's thread pool instead of inside COMMIT.
 *
 * A connection runs with `synchronous = NORMAL`: COMMIT writes its WAL frames and returns
 * without an fsync. The committer hands an operation's result out only after an fdatasync of
 * the WAL file that began after that COMMIT returned, so an acknowledged write is on stable
 * storage exactly as with `synchronous = FULL`, but the main thread never waits for the
 * disk, and the next transaction runs while the last one's frames are synced. Requests made
 * while an fdatasync runs share the one after it (group commit). WAL frames commit in order
 * and recovery keeps a prefix (cumulative checksums), so a synced commit also makes every
 * earlier one durable. Checkpoints still sync by themselves (SQLite does in NORMAL mode).
 *
 * The WAL file exists while this connection is open (SQLite removes it when the last
 * connection closes), so the descriptor, opened after the first COMMIT, names the live WAL.
 */
import { closeSync, fdatasync, openSync } from 'node:fs';
import { promisify } from 'node:util';
import { HostError } from '../../errors.js';

const fdatasyncAsync = promisify(fdatasync);
const noop = () => undefined;

export class WalSync {
  private fd: number | undefined;
  /** The fdatasync running now. */
  private inFlight: Promise<void> | undefined;
  /** The one after it, shared by every commit made while `inFlight` runs. */
  private next: Promise<void> | undefined;

  constructor(private readonly walPath: string) {}

  /** Resolves once everything committed before this call is on stable storage. */
  sync(): Promise<void> {
    if (!this.inFlight) return this.start();
    // The running fdatasync may have begun before this commit's frames were written.
    this.next ??= this.inFlight.then(noop, noop).then(() => {
      this.next = undefined;
      return this.start();
    });
    return this.next;
  }

  /** Resolves once every sync asked for so far settled (a read must not see what is not durable). */
  settled(): Promise<void> | undefined {
    const p = this.next ?? this.inFlight;
    return p?.then(noop, noop);
  }

  async close(): Promise<void> {
    await this.settled();
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private start(): Promise<void> {
    const p = this.run().finally(() => {
      if (this.inFlight === p) this.inFlight = undefined;
    });
    this.inFlight = p;
    return p;
  }

  private async run(): Promise<void> {
    try {
      // Read-only is enough for fdatasync and never creates a WAL that is not there.
      this.fd ??= openSync(this.walPath, 'r');
      await fdatasyncAsync(this.fd);
    } catch (e) {
      const m = e instanceof Error ? e.message : String(e);
      throw new HostError('ERR_SYS_EIO', 'EIO', `store: syncing the write-ahead log: ${m}: (5) Input/output error`, { cause: e });
    }
  }
}
