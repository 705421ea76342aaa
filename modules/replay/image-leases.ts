/**
 * Several daemons on one cluster: which of them replays which image of a pool. Each image
 * has a lease, a cls_lock exclusive lock with a duration on `rbd_mirror_image_lease.<gid>`
 * in the local pool, renewed every tick (LOCK_FLAG_MAY_RENEW) and released on a clean stop,
 * so a SIGTERM hands images over at once and a SIGKILL within `LEASE_MS` plus a tick.
 * Live daemons hold a shared lock with a duration on `rbd_mirror_instances`; a daemon takes
 * at most its share, ceil(images / live daemons), of the leases, gives back what is over its
 * share (the pool replayer stops the replayer first), and takes any image whose lease stayed
 * free for longer than a lease (a daemon that stopped taking). The leader lease
 * (`rbd_mirror_leader`) only decides the heartbeat's `leader` flag.
 *
 * Per image, per daemon:
 * @verbatim
 *   FREE --take (under share, or free > LEASE_MS)--> HELD --renew every TICK_MS--> HELD
 *    ^                                                 |   |
 *    |                                                 |   * renew EBUSY, or none for LEASE_MS
 *    |                                                 |   v
 *    |                                                 |  LOST (stop replaying at once)
 *    |                                                 v
 *    +--- release() <-- SHED (over share, or not wanted; the pool replayer stops, then releases)
 * @endverbatim
 */
import type { IoCtx, Logger } from '../../host/index.js';

/** A lease lapses this long after its last renewal. */
export const LEASE_MS = 6_000;
/** Renewal and acquisition period. */
export const TICK_MS = 1_000;

const IMAGE_LOCK = 'rbd_mirror_image';
const INSTANCES_OID = 'rbd_mirror_instances';
const INSTANCE_LOCK = 'rbd_mirror_instance';
const LEADER_OID = 'rbd_mirror_leader';
const LEADER_LOCK = 'rbd_mirror_leader';

export const imageLeaseOid = (globalId: string) => `rbd_mirror_image_lease.${globalId}`;

const codeOf = (e: unknown) => (e as { errno?: string; code?: string }).errno ?? (e as { code?: string }).code;
const isBusy = (e: unknown) => codeOf(e) === 'EBUSY' || codeOf(e) === 'ERR_LOCK_BUSY';

export interface ImageLeasesInput {
  io: IoCtx;
  /** This daemon's connection instance id: the lock cookie. */
  instanceId: string;
  /** e.g. `client.rbd-mirror.a`, the locks' description. */
  entity: string;
  log: Logger;
  /** Told when a lease was taken, lost or should be given back: the pool replayer rescans. */
  onChange: () => void;
}

export class ImageLeases {
  private readonly held = new Map<string, number>(); // gid -> last renewal (ms)
  private readonly shed = new Set<string>();
  private readonly freeSince = new Map<string, number>();
  private wanted = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private stopped = false;
  private liveInstances: string[] = [];
  private leaderId = '';

  constructor(private readonly in_: ImageLeasesInput) {}

  /** Whether this daemon holds the pool's leader lease (heartbeat `leader`). */
  get leader(): boolean {
    return this.leaderId === this.in_.instanceId;
  }

  /** Instance ids of the live daemons of this pool (this one included), and the leader's. */
  get instances(): { instances: string[]; leader: string } {
    return { instances: [...this.liveInstances], leader: this.leaderId };
  }

  /** Registers this daemon as live and takes its first leases (for `want`ed images). */
  async start(): Promise<void> {
    await this.tick();
    this.schedule();
  }

  /** The images the peer has to replay now (the pool replayer's latest listing). */
  want(globalIds: Set<string>): void {
    const grew = [...globalIds].some((g) => !this.wanted.has(g));
    this.wanted = globalIds;
    if (grew) this.kick();
  }

  /** This daemon holds the image's lease and keeps it: it may replay the image. */
  mayReplay(globalId: string): boolean {
    return this.held.has(globalId) && !this.shed.has(globalId);
  }

  /** Gives back the leases of images this daemon no longer replays (not wanted or shed). */
  async releaseUnused(running: ReadonlySet<string>): Promise<void> {
    for (const gid of [...this.held.keys()]) {
      if (!running.has(gid) && (!this.wanted.has(gid) || this.shed.has(gid))) await this.release(gid);
    }
  }

  /** Releases every lease and the daemon's registration (clean stop: hand-over at once). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    while (this.ticking) await this.ticking;
    for (const gid of [...this.held.keys()]) await this.release(gid);
    const { io, instanceId } = this.in_;
    if (this.leader) await io.unlock(LEADER_OID, LEADER_LOCK, instanceId).catch(() => undefined);
    await io.unlock(INSTANCES_OID, INSTANCE_LOCK, instanceId).catch(() => undefined);
    this.leaderId = '';
    this.liveInstances = [];
  }

  private async release(gid: string): Promise<void> {
    this.held.delete(gid);
    this.shed.delete(gid);
    await this.in_.io.unlock(imageLeaseOid(gid), IMAGE_LOCK, this.in_.instanceId).catch(() => undefined);
    this.in_.log.info(`image ${gid}: lease released`);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.tick().finally(() => this.schedule());
    }, TICK_MS);
  }

  /** A tick soon (new images): not waiting a full period to take them. */
  private kick(): void {
    if (this.stopped || this.ticking || !this.timer) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    void this.tick().finally(() => this.schedule());
  }

  private tick(): Promise<void> {
    if (this.ticking) return this.ticking;
    this.ticking = this.keep()
      .catch((e: unknown) => this.in_.log.warn(`image leases: ${(e as Error).message}`))
      .finally(() => {
        this.ticking = undefined;
      });
    return this.ticking;
  }

  private lock(oid: string, name: string, exclusive: boolean): Promise<void> {
    const { io, instanceId, entity } = this.in_;
    const opts = { description: entity, durationMs: LEASE_MS, renew: true };
    return exclusive ? io.lockExclusive(oid, name, instanceId, opts) : io.lockShared(oid, name, instanceId, 'rbd_mirror', opts);
  }

  private async keep(): Promise<void> {
    const { io, instanceId, log } = this.in_;
    await this.lock(INSTANCES_OID, INSTANCE_LOCK, false);
    this.liveInstances = (await io.getLockInfo(INSTANCES_OID, INSTANCE_LOCK)).lockers.map((l) => l.instanceId).sort();
    if (!this.liveInstances.includes(instanceId)) this.liveInstances.push(instanceId);
    await this.lock(LEADER_OID, LEADER_LOCK, true).then(
      () => void (this.leaderId = instanceId),
      async (e: unknown) => {
        if (!isBusy(e)) throw e;
        this.leaderId = (await io.getLockInfo(LEADER_OID, LEADER_LOCK)).lockers[0]?.instanceId ?? '';
      },
    );
    let changed = false;
    const now = Date.now();
    for (const [gid, renewed] of this.held) {
      try {
        await this.lock(imageLeaseOid(gid), IMAGE_LOCK, true);
        this.held.set(gid, Date.now());
      } catch (e) {
        if (!isBusy(e) && Date.now() - renewed < LEASE_MS) continue; // try again next tick
        this.held.delete(gid);
        this.shed.delete(gid);
        changed = true;
        log.warn(`image ${gid}: lease lost (${(e as Error).message}); stopping its replay`);
      }
    }
    const quota = Math.ceil(this.wanted.size / Math.max(1, this.liveInstances.length));
    // Over our share (another daemon came up): give back the last ones, by global id.
    const mine = [...this.held.keys()].filter((g) => this.wanted.has(g) && !this.shed.has(g)).sort();
    for (const gid of mine.slice(quota)) {
      this.shed.add(gid);
      changed = true;
      log.info(`image ${gid}: over this daemon's share (${quota} of ${this.wanted.size} images, ${this.liveInstances.length} daemons); handing it over`);
    }
    for (const gid of [...this.wanted].sort()) {
      if (this.stopped) break;
      if (this.held.has(gid)) continue;
      const info = await io.getLockInfo(imageLeaseOid(gid), IMAGE_LOCK).catch(() => undefined);
      if (info && info.lockers.length > 0) {
        this.freeSince.delete(gid);
        continue;
      }
      const since = this.freeSince.get(gid) ?? now;
      this.freeSince.set(gid, since);
      const share = [...this.held.keys()].filter((g) => !this.shed.has(g)).length < quota;
      if (!share && now - since < LEASE_MS) continue;
      try {
        await this.lock(imageLeaseOid(gid), IMAGE_LOCK, true);
      } catch (e) {
        if (isBusy(e)) continue; // another daemon was quicker
        throw e;
      }
      this.held.set(gid, Date.now());
      this.freeSince.delete(gid);
      changed = true;
      log.info(`image ${gid}: lease taken; replaying it in this daemon (${share ? 'its share' : 'free for a lease period'})`);
    }
    for (const gid of this.freeSince.keys()) if (!this.wanted.has(gid)) this.freeSince.delete(gid);
    if (changed) this.in_.onChange();
  }
}
