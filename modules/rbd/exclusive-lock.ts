/**
 * librbd's exclusive lock: cls_lock `rbd_lock` (tag `internal`, cookie `auto <watch cookie>`)
 * on the image header, held by the one client allowed to write.
 *
 * ```
 *  UNLOCKED ──acquire()──▶ ACQUIRING ──lock_exclusive ok──▶ LOCKED ──release()──▶ RELEASING ──▶ UNLOCKED
 *                           │   ▲  ▲                                             (unlock, notify
 *         EBUSY, holder's   │   │  │ EBUSY, holder has no watch on the header:    released_lock)
 *         watch present:    │   │  └─ it died (SIGKILL): break_lock, try again
 *         wait for a        ▼   │
 *         released_lock ── WAITING
 *         notify or a poll  │
 *                           └── deadline passed ──▶ ERR_IMAGE_BUSY, back to UNLOCKED
 * ```
 * A holder is alive while the watch named in its cookie is on the header: a client keeps its
 * watch for as long as it is open, and the store drops the watches of a client that died.
 * Holders do not hand the lock over on request (librbd's cooperative transfer): a second
 * writer waits until the first closes the image.
 */
import { err, type IoCtx, type LockerInfo, type Logger } from '../../host/index.js';
import { isErrno } from './rbd-errors.js';

export const LOCK_NAME = 'rbd_lock';
export const LOCK_TAG = 'internal';
const COOKIE_PREFIX = 'auto ';
/** Re-check between notifies, so a holder that died without a word is noticed. */
const DEFAULT_POLL_MS = 250;

export const NOTIFY_RELEASED_LOCK = 'released_lock';

export interface ExclusiveLockOptions {
  /** How long to wait for a live holder before ERR_IMAGE_BUSY. */
  timeoutMs: number;
  pollMs?: number;
  /** `pool/image`, for messages. */
  spec: string;
  log?: Logger;
}

type State = 'unlocked' | 'acquiring' | 'locked' | 'releasing';

export class ExclusiveLock {
  private state: State = 'unlocked';
  private pending: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private heldCookie = '';

  /**
   * @param watchCookie the cookie of this client's current header watch (it may change
   *   when the watch is re-established).
   */
  constructor(
    private readonly ioctx: IoCtx,
    private readonly oid: string,
    private readonly instanceId: string,
    private readonly watchCookie: () => string,
    private readonly opts: ExclusiveLockOptions,
  ) {}

  get owner(): boolean {
    return this.state === 'locked';
  }

  /** Resolves once this client holds the lock; concurrent callers share one attempt. */
  acquire(): Promise<void> {
    if (this.state === 'locked') return Promise.resolve();
    if (this.state === 'releasing') return Promise.reject(err('ERR_IMAGE_BUSY', `image ${this.opts.spec} is closing`));
    this.pending ??= this.run().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  /** A `released_lock` notify arrived: a waiting acquire tries again at once. */
  released(): void {
    this.wake?.();
  }

  /** The watch behind the cookie is gone, so the lock can be broken by others: stop claiming it. */
  lost(): void {
    if (this.state === 'locked') {
      this.opts.log?.warn(`lost the exclusive lock of ${this.opts.spec} (header watch failed)`);
      this.state = 'unlocked';
    }
  }

  async release(): Promise<void> {
    if (this.pending) await this.pending.catch(() => undefined);
    if (this.state !== 'locked') return;
    this.state = 'releasing';
    try {
      await this.ioctx.unlock(this.oid, LOCK_NAME, this.heldCookie).catch((e: unknown) => {
        // Broken by someone who thought we were dead: nothing left to release.
        if (!isErrno(e, 'ENOENT')) throw e;
      });
    } finally {
      this.state = 'unlocked';
    }
    await this.ioctx.notify(this.oid, Buffer.from(JSON.stringify({ op: NOTIFY_RELEASED_LOCK })), 1000).catch((e: unknown) => {
      this.opts.log?.debug(`released_lock notify on ${this.opts.spec} failed`, e);
    });
  }

  private async run(): Promise<void> {
    this.state = 'acquiring';
    const deadline = Date.now() + this.opts.timeoutMs;
    try {
      for (;;) {
        const cookie = COOKIE_PREFIX + this.watchCookie();
        if (await this.tryLock(cookie)) {
          this.heldCookie = cookie;
          this.state = 'locked';
          return;
        }
        const holder = await this.currentHolder();
        if (!holder) continue;
        if (holder.instanceId === this.instanceId && holder.cookie === cookie) {
          this.heldCookie = cookie;
          this.state = 'locked';
          return;
        }
        if (!(await this.alive(holder))) {
          this.opts.log?.info(`breaking the dead exclusive lock of ${this.opts.spec} held by ${holder.entity} (instance ${holder.instanceId})`);
          await this.ioctx.breakLock(this.oid, LOCK_NAME, holder.instanceId, holder.cookie).catch((e: unknown) => {
            if (!isErrno(e, 'ENOENT')) throw e;
          });
          continue;
        }
        const left = deadline - Date.now();
        if (left <= 0) throw this.busy(holder);
        await this.waitForRelease(Math.min(left, this.opts.pollMs ?? DEFAULT_POLL_MS));
      }
    } catch (e) {
      this.state = 'unlocked';
      throw e;
    }
  }

  private async tryLock(cookie: string): Promise<boolean> {
    try {
      await this.ioctx.lockExclusive(this.oid, LOCK_NAME, cookie, { tag: LOCK_TAG, description: '' });
      return true;
    } catch (e) {
      if (isErrno(e, 'EBUSY') || isErrno(e, 'EEXIST')) return false;
      throw e;
    }
  }

  private async currentHolder(): Promise<LockerInfo | undefined> {
    try {
      return (await this.ioctx.getLockInfo(this.oid, LOCK_NAME)).lockers[0];
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return undefined;
      throw e;
    }
  }

  private async alive(holder: LockerInfo): Promise<boolean> {
    const watchers = await this.ioctx.listWatchers(this.oid);
    const watch = holder.cookie.startsWith(COOKIE_PREFIX) ? holder.cookie.slice(COOKIE_PREFIX.length) : undefined;
    // A lock taken by another tool (no `auto` cookie) counts as alive while its client watches.
    return watchers.some((w) => w.instanceId === holder.instanceId && (watch === undefined || w.cookie === watch));
  }

  private waitForRelease(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        if (this.wake === done) this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }

  private busy(holder: LockerInfo) {
    const secs = Math.round(this.opts.timeoutMs / 100) / 10;
    return err('ERR_IMAGE_BUSY',
      `image ${this.opts.spec} is busy: its exclusive lock is held by ${holder.entity} (instance ${holder.instanceId}), ` +
      `a live client; gave up after ${secs} s`);
  }
}
