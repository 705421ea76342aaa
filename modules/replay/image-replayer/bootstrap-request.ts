/**
 * Prepares one image for journal replay on the destination cluster (rbd-mirror's
 * `image_replayer/BootstrapRequest` + `journal/CreateLocalImageRequest`).
 *
 * @verbatim
 *  <start>
 *     |
 *     v
 *  READ_REMOTE_IMAGE            (read-only: size, order, data pool)
 *     |
 *     v
 *  FIND_LOCAL_IMAGE  * * * * * * * * * * * * * * > <error> EEXIST: a local primary with
 *     |         \                                  the same global id (PrepareReplayRequest
 *     |          \                                 decides that before; a race ends here)
 *     |           \ non-primary replica, enabled: on to ENABLE_JOURNALING, except:
 *     |            \ non-primary, `disabling` (a resync or removal cut short): DISCARD it
 *     |             \
 *     |       POSITION_AT_EPOCH (with `epoch`, failover: our client registered, then
 *     |             |           positioned before the peer's epoch, no sync) --> ENABLE_JOURNALING
 *     |             | the epoch's head was trimmed: DISCARD the replica (its id recorded in
 *     |             v our client's data first), then a fresh one and a full sync, as below
 *     | none
 *     v
 *  CHECK_LOCAL_NAME  * * * * * * * * * * * * * * > <error> EEXIST "local image name is in
 *     |         \                                  use by a non-mirrored image" (or by
 *     |          \                                 another mirrored image): nothing changed
 *     |           \ our half-made replica (its id is the one our client records on the
 *     |            \ primary's journal, and no mirror record): REMOVE it
 *     v
 *  RECORD_LOCAL_IMAGE_ID (a new id, in our client's data on the primary's journal: registered,
 *     |                   positioned at the image client's position, {syncing, image_id})
 *     v
 *  CREATE_LOCAL_IMAGE (with that id; no journaling; data pool from selectDataPool)
 *     |
 *     v
 *  RECORD_NON_PRIMARY (createNonPrimary)
 *     |
 *     v
 *  ENABLE_JOURNALING  (replay handle; skipped when on)
 *     |
 *     v
 *  ALLOCATE_TAG      (owner = the primary's mirror uuid; skipped when it already is)
 *     |
 *     v
 *  REGISTER_CLIENT   (on the primary's journal, id = the local pool's mirror uuid; a new
 *     |               replica was positioned by RECORD_LOCAL_IMAGE_ID, a failover's by
 *     |               POSITION_AT_EPOCH; else resume a cut-short sync or replay)
 *     v
 *  <finish>  { localImageId, needsSync }
 * @endverbatim
 *
 * Any step's error rejects `run()`; every step is idempotent, so running it again after a
 * crash finishes what was begun. A crash between CREATE and RECORD leaves an image under the
 * primary's name with no record: as rbd-mirror (journal `CreateLocalImageRequest` registers the
 * new id in `MirrorPeerClientMeta.image_id` before creating), the id was recorded first, so the
 * next run knows that image as its own and removes it; any other image of that name is an
 * operator's and is never touched.
 */
import { randomBytes } from 'node:crypto';
import { errno, type Cluster } from '../../../host/index.js';
import type { MirrorImage } from '../../image-state/api.js';
import type { ImageInfo } from '../../rbd/api.js';
import type { Tag } from '../../journaling/journals-service.js';
import type { ReplayDeps } from '../deps.js';
import { crashPoint } from '../crash-points.js';
import { advance } from './journal/replayer.js';
import { positionBeforeEpoch } from './tag-history.js';

export interface BootstrapInput {
  remote: Cluster;
  pool: string;
  /** The primary's record on the remote cluster. */
  primary: MirrorImage;
  localMirrorUuid: string;
  remoteMirrorUuid: string;
  signal: AbortSignal;
  /** The peer's promotion epoch to follow from its start (failover without a full sync). */
  epoch?: Tag;
}

export interface BootstrapResult {
  localImageId: string;
  /** The replica's data must be copied before replay (new replica, or a sync never finished). */
  needsSync: boolean;
}

/** The journal client's data on the primary (Ceph's `MirrorPeerClientMeta`, reduced). */
export interface PeerClientData {
  state: 'syncing' | 'replaying';
  image_id: string;
  /** While syncing: every object below this one is copied (full-sync-request.ts resumes there). */
  sync_object?: number;
}

/** rbd-mirror's words when the replica's name is taken by an image that is not ours. */
export const NAME_IN_USE = 'local image name is in use by a non-mirrored image';
export const NAME_IN_USE_MIRRORED = 'local image name is in use by another mirrored image';

export class BootstrapRequest {
  private remoteInfo: ImageInfo | undefined;
  private localImageId = '';
  private created = false;
  /** POSITION_AT_EPOCH positioned our client: replay follows the epoch, no sync. */
  private atEpoch = false;

  constructor(private readonly d: ReplayDeps, private readonly in_: BootstrapInput) {}

  async run(): Promise<BootstrapResult> {
    await this.readRemoteImage();
    let existing = await this.findLocalImage();
    if (existing && this.in_.epoch && !(await this.positionAtEpoch(existing, this.in_.epoch))) {
      await this.discardReplica(existing);
      existing = undefined;
    }
    if (existing) {
      this.localImageId = existing;
    } else {
      await this.checkLocalName();
      await this.recordLocalImageId();
      await this.createLocalImage();
      crashPoint('after-create-local-image');
      await this.recordNonPrimary();
    }
    await this.enableJournaling();
    await this.allocateTag();
    const needsSync = await this.registerClient();
    return { localImageId: this.localImageId, needsSync };
  }

  private step(): void {
    this.in_.signal.throwIfAborted();
  }

  private async readRemoteImage(): Promise<void> {
    this.step();
    const img = await this.d.images.openImageById(this.in_.remote, this.in_.pool, this.in_.primary.imageId, { readOnly: true });
    try {
      this.remoteInfo = img.info;
    } finally {
      await img.close();
    }
  }

  private async findLocalImage(): Promise<string | undefined> {
    this.step();
    const rec = await this.d.state.getByGlobalId(this.d.local, this.in_.pool, this.in_.primary.globalId);
    if (!rec) return undefined;
    if (rec.primary) {
      throw Object.assign(new Error(`local image ${this.in_.pool}/${rec.imageId} with global id ${rec.globalId} is primary`), { errno: 'EEXIST' });
    }
    if (rec.state !== 'disabling') return rec.imageId;
    // Only the daemon makes non-primary records: this is our replica, its removal (a resync,
    // or the deleter) cut short. Finish it; the replica is made again.
    this.d.log.info(`pool ${this.in_.pool} global id ${rec.globalId}: discarding replica ${rec.imageId} left half-disabled`);
    await this.d.state.disable(this.d.local, this.in_.pool, rec.imageId, { force: true });
    await this.removeLocalImageById(rec.imageId);
    return undefined;
  }

  /**
   * The primary's name is free here, or held by our own half-made replica (removed now): its
   * id is the one RECORD_LOCAL_IMAGE_ID wrote into our client's data before creating it (or a
   * resync's replica, whose record `disable --force` dropped) and it has no mirror record.
   */
  private async checkLocalName(): Promise<void> {
    this.step();
    const { pool, primary } = this.in_;
    const name = this.remoteInfo!.name;
    const found = (await this.d.images.listImages(this.d.local, pool)).find((e) => e.name === name);
    if (!found) return;
    const rec = await this.d.state.getByImageId(this.d.local, pool, found.id);
    const recorded = await this.recordedImageId();
    if (rec || found.id !== recorded) {
      const why = rec ? `${NAME_IN_USE_MIRRORED} (global id ${rec.globalId})` : NAME_IN_USE;
      this.d.log.error(`pool ${pool} global id ${primary.globalId}: ${why}: ${pool}/${name} (id ${found.id}) is not a replica of this daemon's, left untouched`);
      throw errno('EEXIST', 'ERR_REPLAY_NAME_IN_USE', why);
    }
    this.d.log.info(`pool ${pool} global id ${primary.globalId}: removing ${pool}/${name} (id ${found.id}), this daemon's replica left without a mirror record by a crash`);
    await this.d.images.removeImage(this.d.local, pool, name);
  }

  /** The replica id our client's data on the primary's journal names, if any. */
  private async recordedImageId(): Promise<string | undefined> {
    const j = await this.d.journals.open(this.in_.remote, this.in_.pool, this.in_.primary.imageId);
    try {
      const client = (await j.metadata()).clients.find((c) => c.id === this.in_.localMirrorUuid);
      const id = (client?.data as Partial<PeerClientData> | undefined)?.image_id;
      return typeof id === 'string' && id !== '' ? id : undefined;
    } finally {
      await j.close();
    }
  }

  private async removeLocalImageById(imageId: string): Promise<void> {
    let name: string;
    try {
      const img = await this.d.images.openImageById(this.d.local, this.in_.pool, imageId, { readOnly: true });
      name = img.info.name;
      await img.close();
    } catch (e) {
      if ((e as { errno?: string }).errno === 'ENOENT') return;
      throw e;
    }
    await this.d.images.removeImage(this.d.local, this.in_.pool, name);
  }

  /**
   * Before the replica exists, its id goes into our client's data on the primary's journal
   * (Ceph: `MirrorPeerClientMeta.image_id`), positioned for a full sync: registered first,
   * then positioned at the image client's position (the journal keeps everything after it,
   * and the sync reads data at least that new, so replaying from there converges).
   */
  private async recordLocalImageId(): Promise<void> {
    this.step();
    const id = this.in_.localMirrorUuid;
    this.localImageId = randomBytes(6).toString('hex');
    const j = await this.d.journals.open(this.in_.remote, this.in_.pool, this.in_.primary.imageId);
    try {
      // As Ceph (UNREGISTER_CLIENT, REGISTER_CLIENT): a fresh client, so one disconnected from
      // this journal (it fell too far behind) is connected again and pins what it needs.
      if ((await j.metadata()).clients.some((c) => c.id === id)) await j.unregisterClient(id);
      const data: PeerClientData = { state: 'syncing', image_id: this.localImageId };
      await j.registerClient(id, { ...data });
      const meta = await j.metadata();
      await j.commit(id, meta.clients.find((c) => c.id === '')?.commitPosition ?? []);
    } finally {
      await j.close();
    }
  }

  private async createLocalImage(): Promise<void> {
    this.step();
    const info = this.remoteInfo!;
    const dataPool = await this.d.mirroring.selectDataPool(this.d.local, info.dataPool, this.d.conf);
    try {
      await this.d.images.createImage(this.d.local, this.in_.pool, info.name, {
        size: info.size,
        order: info.order,
        features: this.d.images.features['exclusive-lock']!,
        id: this.localImageId,
        ...(dataPool !== undefined ? { dataPool } : {}),
      });
    } catch (e) {
      // Another image took the name since CHECK_LOCAL_NAME: an operator's, left alone.
      if ((e as { code?: string }).code === 'ERR_IMAGE_EXISTS') throw errno('EEXIST', 'ERR_REPLAY_NAME_IN_USE', NAME_IN_USE);
      throw e;
    }
    this.created = true;
  }

  private async recordNonPrimary(): Promise<void> {
    this.step();
    await this.d.state.createNonPrimary(this.d.local, this.in_.pool, this.localImageId, this.in_.primary.globalId);
  }

  private async enableJournaling(): Promise<void> {
    this.step();
    const bit = this.d.images.features.journaling!;
    const img = await this.d.images.openImageById(this.d.local, this.in_.pool, this.localImageId, { purpose: 'replay' });
    try {
      if ((img.info.features & bit) === 0) await img.updateFeatures(bit, true);
    } finally {
      await img.close();
    }
  }

  private async allocateTag(): Promise<void> {
    this.step();
    const j = await this.d.journals.open(this.d.local, this.in_.pool, this.localImageId);
    try {
      const tags = (await j.metadata()).tags;
      const last = tags[tags.length - 1];
      if (last?.data.mirrorUuid === this.in_.remoteMirrorUuid) return;
      await j.allocateTag({
        mirrorUuid: this.in_.remoteMirrorUuid,
        predecessor: { mirrorUuid: last?.data.mirrorUuid ?? '', commitValid: false, tagTid: last?.tid ?? 0, entryTid: 0 },
      });
    } finally {
      await j.close();
    }
  }

  /** @returns whether a full sync is needed. */
  private async registerClient(): Promise<boolean> {
    this.step();
    // A new replica's client was registered and positioned by RECORD_LOCAL_IMAGE_ID.
    if (this.created) return true;
    if (this.atEpoch) return false;
    const id = this.in_.localMirrorUuid;
    const j = await this.d.journals.open(this.in_.remote, this.in_.pool, this.in_.primary.imageId);
    try {
      const meta = await j.metadata();
      const client = meta.clients.find((c) => c.id === id);
      const known = client ? (client.data as Partial<PeerClientData>) : undefined;
      if (!client) await j.registerClient(id, {});
      if (known?.state === 'replaying') return false;
      // A full sync cut short (restart, crash) of this same replica resumes: its position was
      // fixed before that sync began, so it stays, and so does `sync_object` (helper B).
      if (known?.state === 'syncing' && known.image_id === this.localImageId) return true;
      // Registered first, then positioned: the journal keeps everything after the image
      // client's position, and the sync reads data at least that new, so replaying from
      // there converges (writes are idempotent and in order).
      const start = meta.clients.find((c) => c.id === '')?.commitPosition ?? [];
      await j.commit(id, start);
      const data: PeerClientData = { state: 'syncing', image_id: this.localImageId };
      await j.updateClientData(id, { ...data });
      return true;
    } finally {
      await j.close();
    }
  }

  /**
   * Failover: this site was demoted and the peer promoted after replaying that demotion, so
   * both hold the same data up to the peer's new epoch. Registered first (nothing after a
   * client without a position is trimmed), then positioned before the epoch.
   * @returns false when the epoch's head is gone (trimmed while this site's daemon was away):
   *   replay from there would miss writes. The replica's id then goes into our client's data
   *   ({syncing, image_id}), so that a crash while DISCARD runs leaves an image the next
   *   bootstrap knows as its own (CHECK_LOCAL_NAME).
   */
  private async positionAtEpoch(localImageId: string, epoch: Tag): Promise<boolean> {
    this.step();
    const id = this.in_.localMirrorUuid;
    const j = await this.d.journals.open(this.in_.remote, this.in_.pool, this.in_.primary.imageId);
    try {
      if (!(await j.metadata()).clients.some((c) => c.id === id)) await j.registerClient(id, {});
      const { all, meta } = await j.read(undefined);
      const pos = positionBeforeEpoch(all, epoch.tid, meta.splayWidth,
        (p, e, w) => advance(p, { objectNumber: e.objectNumber, tagTid: e.tagTid, entryTid: e.entryTid }, w), meta.minimumSet > 0);
      if (pos) await j.commit(id, pos);
      const data: PeerClientData = { state: pos ? 'replaying' : 'syncing', image_id: localImageId };
      await j.updateClientData(id, { ...data });
      this.atEpoch = pos !== undefined;
      return this.atEpoch;
    } finally {
      await j.close();
    }
  }

  /**
   * The peer's epoch head is gone: what this replica holds cannot be brought up to date by
   * replay, and a full sync over it would leave stale bytes where the peer has holes or
   * zeros (the copy writes only non-zero runs). So it is removed and made again, as
   * rbd-mirror resyncs an image whose client fell off the primary's journal.
   */
  private async discardReplica(localImageId: string): Promise<void> {
    this.step();
    const { pool, primary } = this.in_;
    this.d.log.warn(`pool ${pool} global id ${primary.globalId}: the start of the peer's epoch was trimmed from its journal: discarding replica ${localImageId} for a full sync`);
    await this.d.state.disable(this.d.local, pool, localImageId, { force: true });
    crashPoint('epoch-discard-after-disable');
    await this.removeLocalImageById(localImageId);
  }
}
