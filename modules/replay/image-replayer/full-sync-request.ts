/**
 * Copies a primary image's data into its replica (rbd-mirror's `ImageSync`, without sync
 * points: the journal position recorded by bootstrap before the copy makes replay converge).
 *
 * @verbatim
 *  <start>
 *     |
 *     v
 *  OPEN_IMAGES        (remote read-only, local replay handle)
 *     |
 *     v
 *  RESIZE_LOCAL       (only when the sizes differ)
 *     |
 *     v
 *  COPY_OBJECTS <---+ (per object: read, write the non-zero runs; holes stay holes)
 *     |     |       |
 *     |     +-------+
 *     v
 *  CLOSE_IMAGES       (also on error and abort)
 *     |
 *     v
 *  <finish>  { bytesCopied }
 * @endverbatim
 */
import type { Cluster } from '../../../host/index.js';
import type { Image } from '../../rbd/api.js';
import type { ReplayDeps } from '../deps.js';

/** Zero detection granularity: a run of this many zero bytes is left as a hole. */
const BLOCK = 4096;

export interface FullSyncInput {
  remote: Cluster;
  pool: string;
  remoteImageId: string;
  localImageId: string;
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

export class FullSyncRequest {
  private remoteImg: Image | undefined;
  private localImg: Image | undefined;
  private bytesCopied = 0;

  constructor(private readonly d: ReplayDeps, private readonly in_: FullSyncInput) {}

  async run(): Promise<{ bytesCopied: number }> {
    try {
      await this.openImages();
      await this.resizeLocal();
      await this.copyObjects();
    } finally {
      await this.closeImages();
    }
    return { bytesCopied: this.bytesCopied };
  }

  private async openImages(): Promise<void> {
    this.remoteImg = await this.d.images.openImageById(this.in_.remote, this.in_.pool, this.in_.remoteImageId, { readOnly: true });
    this.localImg = await this.d.images.openImageById(this.d.local, this.in_.pool, this.in_.localImageId, { purpose: 'replay' });
  }

  private async resizeLocal(): Promise<void> {
    const size = this.remoteImg!.info.size;
    if (this.localImg!.info.size !== size) await this.localImg!.resize(size, { allowShrink: true });
  }

  private async copyObjects(): Promise<void> {
    const { size, objectSize, numObjects } = this.remoteImg!.info;
    for (let n = 0; n < numObjects; n++) {
      this.in_.signal.throwIfAborted();
      const off = n * objectSize;
      const buf = await this.remoteImg!.read(off, Math.min(objectSize, size - off));
      for (const [o, len] of nonZeroRuns(buf)) {
        await this.localImg!.write(off + o, buf.subarray(o, o + len));
        this.bytesCopied += len;
      }
      this.in_.onProgress?.(n + 1, numObjects);
    }
  }

  private async closeImages(): Promise<void> {
    await this.localImg?.close().catch(() => undefined);
    await this.remoteImg?.close().catch(() => undefined);
  }
}
