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
 *     | none     \ non-primary replica
 *     v           \
 *  CREATE_LOCAL_IMAGE (no journaling; data pool from selectDataPool)
 *     |             \
 *     v              |
 *  RECORD_NON_PRIMARY (createNonPrimary)
 *     |              |
 *     v              v
 *  ENABLE_JOURNALING  (replay handle; skipped when on)
 *     |
 *     v
 *  ALLOCATE_TAG      (owner = the primary's mirror uuid; skipped when it already is)
 *     |
 *     v
 *  REGISTER_CLIENT   (on the primary's journal, id = the local pool's mirror uuid; a new
 *     |               client or a new replica starts at the image client's position;
 *     |               with `epoch` (failover, the chains link): positioned before that
 *     |               epoch, no sync; when its head was trimmed: full sync after all)
 *     v
 *  <finish>  { localImageId, needsSync }
 * @endverbatim
 *
 * Any step's error rejects `run()`; every step is idempotent, so running it again after a
 * crash finishes what was begun (except a crash between CREATE and RECORD, see README).
 */
import type { Cluster } from '../../../host/index.js';
import type { MirrorImage } from '../../image-state/api.js';
import type { ImageInfo } from '../../rbd/api.js';
import type { Tag } from '../../journaling/journals-service.js';
import type { ReplayDeps } from '../deps.js';
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

export class BootstrapRequest {
  private remoteInfo: ImageInfo | undefined;
  private localImageId = '';
  private created = false;

  constructor(private readonly d: ReplayDeps, private readonly in_: BootstrapInput) {}

  async run(): Promise<BootstrapResult> {
    await this.readRemoteImage();
    const existing = await this.findLocalImage();
    if (existing) {
      this.localImageId = existing;
    } else {
      await this.createLocalImage();
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
    return rec.imageId;
  }

  private async createLocalImage(): Promise<void> {
    this.step();
    const info = this.remoteInfo!;
    const dataPool = await this.d.mirroring.selectDataPool(this.d.local, info.dataPool, this.d.conf);
    const created = await this.d.images.createImage(this.d.local, this.in_.pool, info.name, {
      size: info.size,
      order: info.order,
      features: this.d.images.features['exclusive-lock']!,
      ...(dataPool !== undefined ? { dataPool } : {}),
    });
    this.localImageId = created.id;
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
    const id = this.in_.localMirrorUuid;
    const j = await this.d.journals.open(this.in_.remote, this.in_.pool, this.in_.primary.imageId);
    try {
      const meta = await j.metadata();
      const client = meta.clients.find((c) => c.id === id);
      const known = client && !this.created ? (client.data as Partial<PeerClientData>) : undefined;
      if (!client) await j.registerClient(id, {});
      if (this.in_.epoch && !this.created && await this.positionAtEpoch(j, this.in_.epoch)) return false;
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
   * both hold the same data up to the peer's new epoch. Registered already (nothing after a
   * client without a position is trimmed), the client is positioned before the epoch.
   * @returns false when the epoch's head is gone (a full sync is needed).
   */
  private async positionAtEpoch(j: Awaited<ReturnType<ReplayDeps['journals']['open']>>, epoch: Tag): Promise<boolean> {
    const id = this.in_.localMirrorUuid;
    const { all, meta } = await j.read(undefined);
    const pos = positionBeforeEpoch(all, epoch.tid, meta.splayWidth,
      (p, e, w) => advance(p, { objectNumber: e.objectNumber, tagTid: e.tagTid, entryTid: e.entryTid }, w));
    if (!pos) return false;
    await j.commit(id, pos);
    const data: PeerClientData = { state: 'replaying', image_id: this.localImageId };
    await j.updateClientData(id, { ...data });
    return true;
  }
}
