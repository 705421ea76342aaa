/**
 * One pool and one peer: connects to the peer, follows the mirrored images of both sites and
 * runs an `ImageReplayer` for each global id (rbd-mirror's `PoolReplayer` + `PoolWatcher`s,
 * one namespace). The image replayer decides (local primary, split-brain, replay); this
 * class restarts it when a record changes in a way that matters (`needsRestart`).
 * Writes each image's status record, right away on a state change and at most every
 * second otherwise (the rest at the next `tick`).
 */
import type { Cluster, WatchHandle } from '../../host/index.js';
import type { MirrorImage } from '../image-state/api.js';
import type { MirrorPeer } from '../pool-config/api.js';
import type { StatusState } from '../status/api.js';
import type { ReplayDeps } from './deps.js';
import { ImageReplayer, ImageReplayerState } from './image-replayer/image-replayer.js';
import { ImageLeases } from './image-leases.js';
import { ImageDeleter } from './image-deleter.js';

/** An image replayer that failed is started again after this long. */
const RESTART_AFTER_MS = 10_000;
const MIN_STATUS_INTERVAL_MS = 1_000;

/** What of both sites' records an image replayer's decision depends on. */
interface Roles {
  localPrimary: boolean;
  resync: boolean;
  peerPrimary: boolean;
}

/**
 * Whether a record change must restart the image replayer. A running replayer is left alone
 * when only the peer was demoted: it replays up to the demotion and stops by itself.
 */
export function needsRestart(was: Roles, now: Roles, running: boolean): boolean {
  if (was.localPrimary !== now.localPrimary) return true;
  if (!was.resync && now.resync) return true;
  if (was.peerPrimary !== now.peerPrimary) return !(running && was.peerPrimary && !now.peerPrimary);
  return false;
}

interface StatusSlot {
  state: StatusState;
  description: string;
  written: number;
  dirty: boolean;
  chain: Promise<void>;
}

export class PoolReplayer {
  private remote: Cluster | undefined;
  private watch: WatchHandle | undefined;
  private localWatch: WatchHandle | undefined;
  private localMirrorUuid = '';
  private remoteMirrorUuid = '';
  private readonly images = new Map<string, ImageReplayer>();
  private readonly roles = new Map<string, Roles>();
  private readonly statuses = new Map<string, StatusSlot>();
  private scanning: Promise<void> | undefined;
  private rescan = false;
  private stopped = false;
  /** Which images this daemon replays when several serve the cluster (image-leases.ts). */
  leases: ImageLeases | undefined;
  private readonly deleter: ImageDeleter;

  constructor(private readonly d: ReplayDeps, readonly pool: string, readonly peer: MirrorPeer) {
    this.deleter = new ImageDeleter(d, pool);
  }

  /** The image replayers this daemon runs, by global id (admin socket). */
  get imageReplayers(): ReadonlyMap<string, ImageReplayer> {
    return this.images;
  }

  /** The peer's connection once started (admin socket: image names). */
  get remoteCluster(): Cluster | undefined {
    return this.remote;
  }

  async start(): Promise<void> {
    this.remote = await this.d.mirroring.connectPeer(this.peer);
    this.localMirrorUuid = (await this.d.mirroring.getPoolMirroring(this.d.local, this.pool)).mirror_uuid;
    this.remoteMirrorUuid = (await this.d.mirroring.getPoolMirroring(this.remote, this.pool)).mirror_uuid;
    // As rbd-mirror does: the peer record learns the peer pool's mirror uuid (`mirror pool info`).
    if (this.remoteMirrorUuid && this.peer.mirror_uuid !== this.remoteMirrorUuid) {
      await this.d.mirroring.updatePeer(this.d.local, this.pool, this.peer.uuid, { mirror_uuid: this.remoteMirrorUuid })
        .catch((e: Error) => this.d.log.warn(`recording the mirror uuid of peer ${this.peer.site_name} in pool ${this.pool}: ${e.message}`));
    }
    this.leases = new ImageLeases({
      io: await this.d.local.ioctx(this.pool), instanceId: this.d.local.instanceId, entity: this.d.local.entity,
      log: this.d.log, onChange: () => this.scan(),
    });
    await this.leases.start();
    this.watch = await this.d.state.watch(this.remote, this.pool, () => this.scan());
    this.localWatch = await this.d.state.watch(this.d.local, this.pool, () => this.scan());
    await this.deleter.start();
    this.d.log.info(`replaying pool ${this.pool} from peer ${this.peer.site_name} (${this.peer.client_name})`);
    this.scan();
    await this.scanning;
  }

  /** Periodic: re-lists images, restarts failed ones, writes pending status changes. */
  tick(): void {
    this.scan();
    for (const [gid, ir] of this.images) {
      const desc = ir.describe();
      const slot = this.statuses.get(gid);
      if (desc !== undefined && slot?.state === 'replaying') slot.description = desc;
      if (slot && (slot.dirty || desc !== undefined)) this.writeStatus(gid, slot);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.watch?.close().catch(() => undefined);
    await this.localWatch?.close().catch(() => undefined);
    while (this.scanning) await this.scanning;
    await Promise.all([...this.images.values()].map((ir) => ir.stop()));
    this.images.clear();
    await this.leases?.stop();
    await this.deleter.stop();
    await Promise.all([...this.statuses.values()].map((s) => s.chain));
    await this.remote?.shutdown().catch(() => undefined);
  }

  private scan(): void {
    if (this.stopped) return;
    this.rescan = true;
    if (this.scanning) return;
    this.scanning = (async () => {
      while (this.rescan && !this.stopped) {
        this.rescan = false;
        try {
          await this.refreshImages();
        } catch (e) {
          this.d.log.warn(`listing images of peer ${this.peer.site_name} pool ${this.pool}: ${(e as Error).message}`);
        }
      }
    })().finally(() => {
      this.scanning = undefined;
    });
  }

  private async refreshImages(): Promise<void> {
    const [mine, onPeer] = await Promise.all([
      this.d.state.listMirroredImages(this.d.local, this.pool),
      this.d.state.listMirroredImages(this.remote!, this.pool),
    ]);
    const sites = new Map<string, { local?: MirrorImage; peer?: MirrorImage }>();
    for (const m of mine) if (m.state === 'enabled') sites.set(m.globalId, { local: m });
    for (const m of onPeer) if (m.state === 'enabled') sites.set(m.globalId, { ...sites.get(m.globalId), peer: m });
    const wanted = new Set<string>();
    // A local replica whose primary is gone is the deleter's business, not a replayer's.
    for (const [gid, { local, peer }] of sites) if (peer || local?.primary) wanted.add(gid);
    this.leases!.want(wanted);
    for (const gid of wanted) {
      if (!this.leases!.mayReplay(gid)) continue; // another daemon replays it
      const { local, peer } = sites.get(gid)!;
      const now: Roles = { localPrimary: local?.primary ?? false, resync: local?.resyncRequested ?? false, peerPrimary: peer?.primary ?? false };
      const was = this.roles.get(gid);
      this.roles.set(gid, now);
      let ir = this.images.get(gid);
      if (!ir) {
        ir = new ImageReplayer(this.d, {
          remote: this.remote!, pool: this.pool, globalId: gid,
          localMirrorUuid: this.localMirrorUuid, remoteMirrorUuid: this.remoteMirrorUuid,
          status: (state, description) => this.setStatus(gid, state, description),
        });
        this.images.set(gid, ir);
        ir.start();
      } else if (was && needsRestart(was, now, ir.state !== ImageReplayerState.Stopped && ir.state !== ImageReplayerState.Error)) {
        await ir.stop();
        ir.start();
      } else if (ir.state === ImageReplayerState.Error && !ir.terminal && Date.now() - ir.failedAt > RESTART_AFTER_MS) {
        ir.start();
      }
    }
    // Disabled on both sides, a replica whose primary is gone, or a lease lost or handed
    // over: stop first, then give the lease back.
    for (const [gid, ir] of this.images) {
      if (!wanted.has(gid) || !this.leases!.mayReplay(gid)) {
        this.images.delete(gid);
        this.roles.delete(gid);
        await ir.stop();
      }
    }
    await this.leases!.releaseUnused(new Set(this.images.keys()));
    await this.deleteOrphanedReplicas(onPeer);
  }

  /**
   * Deletion hook (image-deleter.ts): a local non-primary replica whose global id the peer has
   * no record of any more (image removed or mirroring disabled there) is stopped and deleted.
   * Only after a listing from a connected peer whose pool mirroring is on and is the same
   * enablement (mirror uuid): "peer unreachable" fails the listing before this point, and a
   * peer pool disabled or re-enabled must not delete anything. The pool's leader deletes (as
   * Ceph's leader-only ImageDeleter); the others only stop their replayer.
   */
  private async deleteOrphanedReplicas(onPeer: Array<{ globalId: string }>): Promise<void> {
    if (!this.leases?.leader) return;
    const peerPool = await this.d.mirroring.getPoolMirroring(this.remote!, this.pool);
    if (peerPool.mode === 'disabled' || peerPool.mirror_uuid !== this.remoteMirrorUuid) return;
    const known = new Set(onPeer.map((m) => m.globalId));
    for (const rec of await this.d.state.listMirroredImages(this.d.local, this.pool)) {
      if (rec.primary || known.has(rec.globalId) || this.deleter.isDeleting(rec.globalId)) continue;
      const ir = this.images.get(rec.globalId);
      this.images.delete(rec.globalId);
      await ir?.stop();
      this.statuses.delete(rec.globalId);
      this.deleter.schedule(rec.globalId, rec.imageId);
    }
  }

  private setStatus(globalId: string, state: StatusState, description: string): void {
    let slot = this.statuses.get(globalId);
    const changed = !slot || slot.state !== state;
    if (!slot) {
      slot = { state, description, written: 0, dirty: true, chain: Promise.resolve() };
      this.statuses.set(globalId, slot);
    }
    slot.state = state;
    slot.description = description;
    slot.dirty = true;
    if (changed || Date.now() - slot.written >= MIN_STATUS_INTERVAL_MS) this.writeStatus(globalId, slot);
  }

  private writeStatus(globalId: string, slot: StatusSlot): void {
    slot.dirty = false;
    slot.written = Date.now();
    const rec = { global_id: globalId, state: slot.state, description: slot.description, instance_id: this.d.local.instanceId };
    slot.chain = slot.chain
      .then(() => this.d.records.writeImageStatus(this.d.local, this.pool, rec))
      .then(() => undefined, (e: unknown) => this.d.log.warn(`status of ${this.pool} ${globalId}: ${(e as Error).message}`));
  }
}
