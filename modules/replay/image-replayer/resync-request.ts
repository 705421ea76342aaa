/**
 * Discards a non-primary replica whose resync was requested (`mirror image resync`), so the
 * bootstrap that follows creates it again and copies the primary in full (rbd-mirror moves it
 * to the trash through its `ImageDeleter`; images have no trash here, so it is removed).
 *
 * @verbatim
 *  <start>
 *     |
 *     v
 *  READ_NAME        (the replica's name, read-only open)
 *     |
 *     v
 *  DISABLE_MIRRORING (image-state disable --force: record gone with its resync flag,
 *     |               peer clients of the replica's journal dropped)
 *     v
 *  REMOVE_IMAGE     (data, journal, header)
 *     |
 *     v
 *  <finish>
 * @endverbatim
 *
 * A crash between DISABLE and REMOVE leaves the image without a record under the primary's
 * name; the next bootstrap knows it as its own (its id is the one our client records on the
 * primary's journal) and removes it (BootstrapRequest's CHECK_LOCAL_NAME); a crash inside
 * DISABLE leaves a `disabling` record, which the bootstrap's FIND_LOCAL_IMAGE discards.
 */
import type { MirrorImage } from '../../image-state/api.js';
import type { ReplayDeps } from '../deps.js';
import { crashPoint } from '../crash-points.js';

export interface ResyncInput {
  pool: string;
  /** The replica's record (non-primary, resync requested). */
  local: MirrorImage;
  signal: AbortSignal;
}

export class ResyncRequest {
  constructor(private readonly d: ReplayDeps, private readonly in_: ResyncInput) {}

  async run(): Promise<void> {
    const { pool, local } = this.in_;
    this.in_.signal.throwIfAborted();
    const img = await this.d.images.openImageById(this.d.local, pool, local.imageId, { readOnly: true });
    const name = img.info.name;
    await img.close();
    this.in_.signal.throwIfAborted();
    this.d.log.info(`resync of ${pool}/${name} (global id ${local.globalId}): removing the replica`);
    await this.d.state.disable(this.d.local, pool, local.imageId, { force: true });
    crashPoint('resync-after-disable');
    await this.d.images.removeImage(this.d.local, pool, name);
  }
}
