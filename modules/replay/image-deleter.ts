/**
 * Removes non-primary replicas whose primary is gone (rbd-mirror's `ImageDeleter`, without
 * the trash): the pool replayer hands it the global id of a local replica whose peer record
 * disappeared (image removed, or mirroring disabled, on the primary site). One request per
 * image; a failure (EBUSY while a client still has the replica open, the store busy) is
 * retried with a growing delay. A local primary is never touched.
 *
 * @verbatim
 *  schedule(globalId)
 *     |
 *     v
 *  FIND_REPLICA  * * * local image is primary * * * * * * * * * * > <finish> 'primary' (kept)
 *     |          \
 *     |           \ no record, no pending entry
 *     v            \ * * * * * * * * * * * * * * * * * * * * * * * > REMOVE_STATUS
 *  RECORD_PENDING   (omap `delete_<image id>` of `rbd_mirror_deleter`: a crash after
 *     |              DISABLE still knows which image to remove)
 *     v
 *  DISABLE_MIRRORING (image-state disable --force; skipped once the record is gone)
 *     |
 *     v
 *  REMOVE_IMAGE  * * * EBUSY / any error * * * > retry after 1 s, 2 s, 4 s … MAX_RETRY_MS
 *     |              (ENOENT: already gone)
 *     v
 *  FORGET_PENDING
 *     |
 *     v
 *  REMOVE_STATUS     (this site's status record of the image)
 *     |
 *     v
 *  <finish> 'removed'
 * @endverbatim
 */
import type { ReplayDeps } from './deps.js';
import { crashPoint } from './crash-points.js';

/** The pool object whose omap lists the replicas being deleted (survives a restart). */
export const DELETER_OID = 'rbd_mirror_deleter';
const KEY_PREFIX = 'delete_';
const FIRST_RETRY_MS = 1_000;
/** Retries back off up to this (Ceph: `rbd_mirror_delete_retry_interval`, 30 s). */
export const MAX_RETRY_MS = 8_000;

interface PendingEntry {
  global_id: string;
  image_id: string;
}

type Outcome = 'removed' | 'primary';

function errnoOf(e: unknown): string | undefined {
  return (e as { errno?: string }).errno;
}

/** One replica's removal; every step is idempotent, so a retry starts from the top. */
class DeleteReplicaRequest {
  /** @param ref the replica's image id once known; kept by the caller across retries. */
  constructor(private readonly d: ReplayDeps, private readonly pool: string, private readonly globalId: string, private readonly ref: { imageId: string | undefined }) {}

  private get imageId(): string | undefined {
    return this.ref.imageId;
  }

  async run(): Promise<Outcome> {
    const rec = await this.findReplica();
    if (rec === 'primary') return 'primary';
    if (this.imageId !== undefined) {
      await this.recordPending();
      if (rec) await this.d.state.disable(this.d.local, this.pool, this.imageId, { force: true });
      crashPoint('deleter-after-disable');
      await this.removeImage();
      await this.forgetPending();
    }
    await this.d.records.removeImageStatus(this.d.local, this.pool, this.globalId);
    return 'removed';
  }

  /** @returns whether a mirroring record is still there, or 'primary' to keep the image. */
  private async findReplica(): Promise<boolean | 'primary'> {
    const byGlobal = await this.d.state.getByGlobalId(this.d.local, this.pool, this.globalId);
    const rec = byGlobal ?? (this.imageId !== undefined ? await this.d.state.getByImageId(this.d.local, this.pool, this.imageId) : undefined);
    if (!rec) return false;
    if (rec.primary) return 'primary';
    this.ref.imageId = rec.imageId;
    return true;
  }

  private async recordPending(): Promise<void> {
    const io = await this.d.local.ioctx(this.pool);
    try {
      const entry: PendingEntry = { global_id: this.globalId, image_id: this.imageId! };
      await io.omapSet(DELETER_OID, new Map([[KEY_PREFIX + this.imageId!, Buffer.from(JSON.stringify(entry))]]));
    } finally {
      await io.close();
    }
  }

  private async removeImage(): Promise<void> {
    let name: string;
    try {
      const img = await this.d.images.openImageById(this.d.local, this.pool, this.imageId!, { readOnly: true });
      name = img.info.name;
      await img.close();
    } catch (e) {
      if (errnoOf(e) === 'ENOENT') return;
      throw e;
    }
    await this.d.images.removeImage(this.d.local, this.pool, name);
  }

  private async forgetPending(): Promise<void> {
    const io = await this.d.local.ioctx(this.pool);
    try {
      await io.omapRemoveKeys(DELETER_OID, [KEY_PREFIX + this.imageId!]);
    } finally {
      await io.close();
    }
  }
}

interface Slot {
  imageId: string | undefined;
  attempts: number;
  timer: NodeJS.Timeout | undefined;
  running: Promise<void> | undefined;
}

/** The per-pool queue of replica removals, with retries; see the diagram above. */
export class ImageDeleter {
  private readonly slots = new Map<string, Slot>();
  private stopped = false;

  constructor(private readonly d: ReplayDeps, readonly pool: string) {}

  /** Resumes the removals a previous run recorded but did not finish. */
  async start(): Promise<void> {
    const io = await this.d.local.ioctx(this.pool);
    try {
      const page = await io.omapGetVals(DELETER_OID, { prefix: KEY_PREFIX }).catch((e: unknown) => {
        if (errnoOf(e) === 'ENOENT') return undefined;
        throw e;
      });
      for (const value of page?.entries.values() ?? []) {
        try {
          const entry = JSON.parse(value.toString('utf8')) as PendingEntry;
          this.schedule(entry.global_id, entry.image_id);
        } catch {
          // not ours or torn: ignore, as the status readers do
        }
      }
    } finally {
      await io.close();
    }
  }

  /** Queues the removal of the replica with this global id (a no-op when already queued). */
  schedule(globalId: string, imageId?: string): void {
    if (this.stopped || this.slots.has(globalId)) return;
    const slot: Slot = { imageId, attempts: 0, timer: undefined, running: undefined };
    this.slots.set(globalId, slot);
    this.attempt(globalId, slot);
  }

  /** The replica is queued for removal (its replayer must not be started again). */
  isDeleting(globalId: string): boolean {
    return this.slots.has(globalId);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const slot of this.slots.values()) clearTimeout(slot.timer);
    await Promise.all([...this.slots.values()].map((s) => s.running));
    this.slots.clear();
  }

  private attempt(globalId: string, slot: Slot): void {
    slot.timer = undefined;
    slot.running = (async () => {
      try {
        const outcome = await new DeleteReplicaRequest(this.d, this.pool, globalId, slot).run();
        if (outcome === 'primary') this.d.log.warn(`pool ${this.pool} global id ${globalId}: local image is primary, not deleting it`);
        else this.d.log.info(`pool ${this.pool} global id ${globalId}: replica deleted (primary gone)`);
        this.slots.delete(globalId);
      } catch (e) {
        slot.attempts++;
        const delay = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** (slot.attempts - 1));
        this.d.log.warn(`pool ${this.pool} global id ${globalId}: deleting the replica failed (${(e as Error).message}), retrying in ${delay} ms`);
        if (!this.stopped) slot.timer = setTimeout(() => this.attempt(globalId, slot), delay);
      }
    })();
  }
}
