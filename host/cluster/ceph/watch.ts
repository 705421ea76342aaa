/**
 * watch / notify / listWatchers on librados. Every watch answers a probe notify (a fixed
 * payload) with its entity and instance id without calling the user's callback: the 16.2 C
 * API has no rados_list_watchers, so listWatchers is a probe notify. Dead watchers (no
 * monitor session) are left out of the results; the OSD drops their watches after the
 * watch timeout (`ceph watch timeout`, default 10 s), which also ends notifies waiting
 * on them.
 */
import { err } from '../../errors.js';
import type { NotifyResult, WatchCallback, WatcherInfo, WatchHandle } from '../store.js';
import { asBuffer, validateCount } from '../embedded/validate.js';
import type { CephIoCtx } from './ioctx.js';
import { errnoOf, mapRadosError } from './errors.js';

const PROBE = Buffer.from('\0rbdm-ceph-backend:list-watchers\0');
/** How long a watcher has to answer the probe before its liveness is checked. */
const PROBE_TIMEOUT_MS = 1000;

/** How long a removed object's watches keep the process alive waiting for their error. */
const LOSS_WAIT_MS = 3000;

export class CephWatches {
  private readonly mine = new Set<string>();
  /** cookie → oid of this ioctx's live watches. */
  private readonly oids = new Map<string, string>();
  /** Watches whose object this client removed, until their error arrives. */
  private readonly losing = new Set<string>();
  private lossTimer: NodeJS.Timeout | undefined;

  /**
   * After this client removed `oid`: the OSD ends its watches with an error, but it arrives
   * after the remove completes, when nothing may keep the event loop alive (watches do not).
   * A timer holds the process until those errors are delivered (or LOSS_WAIT_MS passes).
   */
  expectLoss(oid: string): void {
    for (const [cookie, o] of this.oids) if (o === oid) this.losing.add(cookie);
    if (this.losing.size > 0 && !this.lossTimer) {
      this.lossTimer = setTimeout(() => {
        this.lossTimer = undefined;
        this.losing.clear();
      }, LOSS_WAIT_MS);
    }
  }

  private lost(cookie: string): void {
    this.oids.delete(cookie);
    if (this.losing.delete(cookie) && this.losing.size === 0 && this.lossTimer) {
      clearTimeout(this.lossTimer);
      this.lossTimer = undefined;
    }
  }

  constructor(private readonly io: CephIoCtx) {}

  async watch(oid: string, cb: WatchCallback, onError?: (e: Error) => void): Promise<WatchHandle> {
    this.io.check(oid);
    if (typeof cb !== 'function') throw err('ERR_INVALID_ARGUMENT', 'watch callback must be a function: (22) Invalid argument');
    const { native, poolName } = this.io;
    const c = this.io.cluster;
    const ack = (notifyId: string, cookie: string, reply: Uint8Array | null) => {
      try {
        native.notifyAck(oid, notifyId, cookie, reply);
      } catch {
        // The ioctx closed meanwhile: the notifier sees a timeout, as with a slow watcher.
      }
    };
    const onNotify = (notifyId: string, cookie: string, notifierId: string, payload: Buffer) => {
      if (payload.equals(PROBE)) {
        ack(notifyId, cookie, Buffer.from(JSON.stringify({ entity: c.entity, instanceId: c.instanceId })));
        return;
      }
      Promise.resolve()
        .then(() => cb({ notifyId, cookie, notifierId, payload }))
        .then(
          (reply) => ack(notifyId, cookie, reply ? asBuffer(reply) : null),
          (e: unknown) => {
            ack(notifyId, cookie, null);
            onError?.(e instanceof Error ? e : new Error(String(e)));
          },
        );
    };
    const onWatchError = (cookie: string, e: Error) => {
      this.mine.delete(cookie);
      // Delivered after the user's handler, so the loop stays alive until it has run.
      setImmediate(() => this.lost(cookie));
      onError?.(mapRadosError(e, { what: `watch ${cookie} on`, pool: poolName, oid }));
    };
    let cookie: string;
    try {
      cookie = await native.watch(oid, onNotify, onWatchError, c.watchTimeoutS);
    } catch (e) {
      return this.io.fail(e, 'error watching', oid);
    }
    this.mine.add(cookie);
    this.oids.set(cookie, oid);
    return { cookie, close: () => this.unwatch(cookie) };
  }

  private async unwatch(cookie: string): Promise<void> {
    this.lost(cookie);
    if (!this.mine.delete(cookie)) return;
    try {
      await this.io.native.unwatch(cookie);
    } catch (e) {
      // Already gone at the OSD (object removed, watch timed out): nothing left to stop.
      if (errnoOf(e) !== 'ENOENT' && errnoOf(e) !== 'ENOTCONN') throw mapRadosError(e, { what: 'error unwatching', pool: this.io.poolName });
    }
  }

  async closeAll(): Promise<void> {
    for (const cookie of [...this.mine]) await this.unwatch(cookie);
  }

  async notify(oid: string, payload: Uint8Array, timeoutMs: number): Promise<NotifyResult> {
    this.io.check(oid);
    if (!(payload instanceof Uint8Array)) throw err('ERR_INVALID_ARGUMENT', 'notify payload must be bytes: (22) Invalid argument');
    validateCount('notify timeout', timeoutMs);
    const r = await this.io.native.notify(oid, payload, Math.max(1, timeoutMs)).catch((e: unknown) => this.io.fail(e, 'error notifying', oid));
    const acks = r.acks.map((a) => ({ instanceId: a.notifierId, cookie: a.cookie, reply: a.payload }));
    let timeouts = r.timeouts.map((t) => ({ instanceId: t.notifierId, cookie: t.cookie }));
    if (timeouts.length > 0) {
      const live = await this.io.cluster.sessions.live();
      if (live) timeouts = timeouts.filter((t) => live.has(t.instanceId));
    }
    return { acks, timeouts };
  }

  async listWatchers(oid: string): Promise<WatcherInfo[]> {
    this.io.check(oid);
    const c = this.io.cluster;
    const r = await this.io.native.notify(oid, PROBE, PROBE_TIMEOUT_MS).catch((e: unknown) => this.io.fail(e, 'error listing watchers of', oid));
    const out: WatcherInfo[] = [];
    for (const a of r.acks) {
      let entity = c.sessions.entityOf(a.notifierId);
      try {
        entity = (JSON.parse(a.payload.toString()) as { entity: string }).entity;
        c.sessions.remember(a.notifierId, entity);
      } catch {
        // A watcher that is not this backend acked with something else.
      }
      out.push({ instanceId: a.notifierId, entity, cookie: a.cookie });
    }
    if (r.timeouts.length > 0) {
      const live = await c.sessions.live();
      for (const t of r.timeouts) {
        if (live && !live.has(t.notifierId)) continue;
        out.push({ instanceId: t.notifierId, entity: live?.get(t.notifierId) || c.sessions.entityOf(t.notifierId), cookie: t.cookie });
      }
    }
    return out;
  }
}
