/**
 * Copies a primary image's data into its replica (rbd-mirror's `ImageSync`, without sync
 * points: the journal position recorded by bootstrap before the first copy began makes replay
 * converge). Resumable: the object number below which every object is copied is recorded in
 * the peer journal client's data (`sync_object`, as Ceph persists its sync point's object
 * number), and a restarted sync continues from there. Objects are copied `PARALLEL` at a time,
 * read raw from the primary's data objects: a missing object is a hole and costs one read.
 *
 * @verbatim
 *  <start>
 *     |
 *     v
 *  OPEN_IMAGES        (remote read-only, local replay handle, remote journal)
 *     |
 *     v
 *  READ_SYNC_POINT    (client data `sync_object` of a sync cut short, else 0)
 *     |
 *     v
 *  RESIZE_LOCAL       (only when the sizes differ)
 *     |
 *     v
 *  COPY_OBJECTS <---+ (PARALLEL workers; per object: raw read, ENOENT = hole, write the
 *     |     |       |  non-zero 4 KiB runs: holes stay holes)
 *     |     v       |
 *     |  RECORD_SYNC_POINT (every RECORD_EVERY objects or RECORD_MS: the low-water mark)
 *     |     |       |
 *     |     +-------+
 *     v
 *  CLOSE_IMAGES       (also on error and abort)
 *     |
 *     v
 *  <finish>  { bytesCopied, startObject }
 * @endverbatim
 */
import type { Cluster, IoCtx } from '../../../host/index.js';
import type { JournalHandle } from '../../journaling/journals-service.js';
import type { Image } from '../../rbd/api.js';
import type { ReplayDeps } from '../deps.js';
import type { PeerClientData } from './bootstrap-request.js';

/** Objects copied at once (bounded: each holds up to one object's bytes in memory). */
export const PARALLEL = 6;
/** The sync point is recorded at least this often… */
const RECORD_MS = 1_000;
/** …and every this many objects. */
const RECORD_EVERY = 16;

/** Zero detection granularity: a run of this many zero bytes is left as a hole. */
const BLOCK = 4096;

export interface FullSyncInput {
  remote: Cluster;
  pool: string;
  remoteImageId: string;
  localImageId: string;
  /** The peer journal client (the local pool's mirror uuid) whose data holds the sync point. */
  clientId: string;
  signal: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

/** `[offset, length]` runs of `buf` that hold a non-zero byte, at `BLOCK` granularity. */
export function nonZeroRuns(buf: Uint8Array): Array<[number, number]> {
  const runs: Array<[number, number]> = [];
  let start = -1;
  for (let off = 0; off < buf.length; off += BLOCK) {
    const end = Math.min(off + BLOCK, buf.length);
    let zero = true;
    for (let i = off; i < end; i++) {
      if (buf[i] !== 0) {
        zero = false;
        break;
      }
    }
    if (!zero && start < 0) start = off;
    if (zero && start >= 0) {
      runs.push([start, off - start]);
      start = -1;
    }
  }
  if (start >= 0) runs.push([start, buf.length - start]);
  return runs;
}

/** Data object name, as rbd's striper names them (`<prefix>.<object no, 16 hex digits>`). */
export function dataObjectName(prefix: string, objectNo: number): string {
  return `${prefix}.${objectNo.toString(16).padStart(16, '0')}`;
}

/** The lowest object number not yet copied, given the ones done above `low`. */
export function advanceLowWater(low: number, done: Set<number>): number {
  while (done.delete(low)) low++;
  return low;
}

export class FullSyncRequest {
  private remoteImg: Image | undefined;
  private localImg: Image | undefined;
  private journal: JournalHandle | undefined;
  private dataIo: IoCtx | undefined;
  private bytesCopied = 0;
  private startObject = 0;
  private low = 0;
  private readonly done = new Set<number>();
  private recorded = 0;
  private recordedAt = 0;
  private recording: Promise<void> = Promise.resolve();

  constructor(private readonly d: ReplayDeps, private readonly in_: FullSyncInput) {}

  async run(): Promise<{ bytesCopied: number; startObject: number }> {
    try {
      await this.openImages();
      await this.readSyncPoint();
      await this.resizeLocal();
      await this.copyObjects();
    } finally {
      await this.closeImages();
    }
    return { bytesCopied: this.bytesCopied, startObject: this.startObject };
  }

  private async openImages(): Promise<void> {
    const { remote, pool } = this.in_;
    this.remoteImg = await this.d.images.openImageById(remote, pool, this.in_.remoteImageId, { readOnly: true });
    this.localImg = await this.d.images.openImageById(this.d.local, pool, this.in_.localImageId, { purpose: 'replay' });
    this.journal = await this.d.journals.open(remote, pool, this.in_.remoteImageId);
    this.dataIo = await remote.ioctx(this.remoteImg.info.dataPool ?? pool);
  }

  private async readSyncPoint(): Promise<void> {
    const client = (await this.journal!.metadata()).clients.find((c) => c.id === this.in_.clientId);
    const data = (client?.data ?? {}) as Partial<PeerClientData>;
    const n = data.state === 'syncing' && data.image_id === this.in_.localImageId ? Number(data.sync_object ?? 0) : 0;
    this.startObject = Number.isInteger(n) && n > 0 ? Math.min(n, this.remoteImg!.info.numObjects) : 0;
    this.low = this.recorded = this.startObject;
    this.recordedAt = Date.now();
    if (this.startObject > 0) this.d.log.info(`image ${this.in_.pool}/${this.in_.localImageId}: resuming full sync at object ${this.startObject} of ${this.remoteImg!.info.numObjects}`);
  }

  private async resizeLocal(): Promise<void> {
    const size = this.remoteImg!.info.size;
    if (this.localImg!.info.size !== size) await this.localImg!.resize(size, { allowShrink: true });
  }

  private async copyObjects(): Promise<void> {
    const { numObjects } = this.remoteImg!.info;
    let next = this.startObject;
    let failed = false;
    const worker = async (): Promise<void> => {
      while (next < numObjects && !failed) {
        this.in_.signal.throwIfAborted();
        const n = next++;
        await this.copyObject(n);
        this.done.add(n);
        this.low = advanceLowWater(this.low, this.done);
        this.in_.onProgress?.(this.low, numObjects);
        this.maybeRecord();
      }
    };
    // allSettled: a failed worker stops the others before the images are closed under them.
    const results = await Promise.allSettled(Array.from({ length: Math.min(PARALLEL, Math.max(1, numObjects - next)) }, () =>
      worker().catch((e: unknown) => {
        failed = true;
        throw e;
      })));
    await this.recording;
    const bad = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (bad) throw bad.reason;
  }

  private async copyObject(n: number): Promise<void> {
    const { size, objectSize, blockNamePrefix } = this.remoteImg!.info;
    const off = n * objectSize;
    const len = Math.min(objectSize, size - off);
    let buf: Buffer;
    try {
      buf = await this.dataIo!.read(dataObjectName(blockNamePrefix, n), 0, len);
    } catch (e) {
      if ((e as { errno?: string }).errno === 'ENOENT') return; // a hole
      throw e;
    }
    for (const [o, l] of nonZeroRuns(buf)) {
      await this.localImg!.write(off + o, buf.subarray(o, o + l));
      this.bytesCopied += l;
    }
  }

  /** Records the low-water mark in the client data (one write at a time, never backwards). */
  private maybeRecord(): void {
    if (this.low - this.recorded < RECORD_EVERY && Date.now() - this.recordedAt < RECORD_MS) return;
    const low = this.low;
    this.recorded = low;
    this.recordedAt = Date.now();
    this.recording = this.recording.then(async () => {
      const data: PeerClientData = { state: 'syncing', image_id: this.in_.localImageId, sync_object: low };
      await this.journal!.updateClientData(this.in_.clientId, { ...data });
    }).catch((e: unknown) => this.d.log.warn(`recording the sync point of ${this.in_.pool}/${this.in_.localImageId}: ${(e as Error).message}`));
  }

  private async closeImages(): Promise<void> {
    await this.recording;
    await this.dataIo?.close().catch(() => undefined);
    await this.journal?.close().catch(() => undefined);
    await this.localImg?.close().catch(() => undefined);
    await this.remoteImg?.close().catch(() => undefined);
  }
}
