/**
 * Tells the journal header's watchers (replayers) that entries were appended or a commit
 * position moved, as Ceph's JournalMetadata notifies after `client_commit`, so a replayer
 * wakes within milliseconds instead of on a poll interval.
 *
 * ```
 *  poke ─▶ in flight or waiting? ─ yes ─▶ remember one more (coalesced)
 *            │ no
 *            ▼
 *          last notify < GAP ago? ─ yes ─▶ timer until GAP has passed ─▶ send
 *            │ no
 *            ▼
 *          send (fire and forget) ─▶ done: one more remembered? ─▶ poke
 *                                        nobody answered? ─▶ quiet for QUIET_MS
 * ```
 * At most one notify per GAP while appends go on, never on the write path's critical path.
 * A notify nobody acknowledged means nobody watches: the notifier stays quiet for a while
 * (a watcher that registers meanwhile reads the journal right after watching, and its
 * slow safety poll covers the rest).
 */
import type { IoCtx } from '../../host/index.js';

/** Minimum time between two notifies of one journal (ms). */
export const NOTIFY_GAP_MS = 20;
/** After a notify with no watcher, pokes are dropped for this long (ms). */
export const QUIET_MS = 1000;
const NOTIFY_TIMEOUT_MS = 1000;
const PAYLOAD = Buffer.from('{"op":"update"}');

export class UpdateNotifier {
  private inFlight: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private again = false;
  private last = 0;
  private quietUntil = 0;
  /** For tests and the bench: notifies sent and pokes coalesced or dropped. */
  readonly stats = { sent: 0, coalesced: 0, quiet: 0 };
  /** Off with the `journal_notify_updates` option (the bench compares both). */
  enabled = true;

  constructor(private readonly io: IoCtx, private readonly oid: string) {}

  poke(): void {
    if (!this.enabled) return;
    if (this.inFlight || this.timer) {
      this.again = true;
      this.stats.coalesced++;
      return;
    }
    const now = Date.now();
    if (now < this.quietUntil) {
      this.stats.quiet++;
      return;
    }
    const wait = this.last + NOTIFY_GAP_MS - now;
    if (wait > 0) {
      this.timer = setTimeout(() => this.send(), wait);
      return;
    }
    this.send();
  }

  /** Sends a notify still waiting for its gap now, and waits for the one in flight (on close). */
  async flush(): Promise<void> {
    if (this.timer) this.send();
    while (this.inFlight) await this.inFlight;
  }

  private send(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.again = false;
    this.last = Date.now();
    this.stats.sent++;
    this.inFlight = this.io.notify(this.oid, PAYLOAD, NOTIFY_TIMEOUT_MS).then(
      (r) => {
        if (r.acks.length === 0 && r.timeouts.length === 0) this.quietUntil = Date.now() + QUIET_MS;
      },
      () => undefined,
    ).finally(() => {
      this.inFlight = undefined;
      if (this.again) {
        this.again = false;
        this.poke();
      }
    });
  }
}
