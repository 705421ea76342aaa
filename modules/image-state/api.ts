/**
 * The `state` service of module `image-state`: what the replay daemon (and status) get from
 * `ctx.service('image-state', 'state')` (list `image-state` in `dependencies`).
 *
 * Types only: other modules `import type` from this file or declare the subset they use.
 */
import type { Cluster, WatchHandle } from '../../host/index.js';

/** Ceph's `MirrorImageState` in rbd's words. */
export type MirrorImageState = 'enabling' | 'enabled' | 'disabling' | 'disabled';

/** One image's mirroring record (`image_<id>` in the pool's `rbd_mirroring` omap). */
export interface MirrorImage {
  imageId: string;
  /** The image's identity across sites (uuid); the replica carries the same one. */
  globalId: string;
  state: MirrorImageState;
  /** Only `journal` is implemented. */
  mode: 'journal';
  /** This site owns the image: it takes client writes; the peer replays them. */
  primary: boolean;
  /** Set by `mirror image resync` on a non-primary image; the daemon re-syncs and clears it. */
  resyncRequested: boolean;
}

/** The notify payload on the pool's `rbd_mirroring` object after every image change. */
export interface ImageUpdatedEvent {
  event: 'image_updated';
  image_id: string;
  global_id: string;
  /** The state after the change; `disabled` once the record is gone. */
  state: MirrorImageState;
}

export interface ImageStateService {
  /** Every image record of the pool (any state); `[]` when the pool has none. */
  listMirroredImages(cluster: Cluster, pool: string): Promise<MirrorImage[]>;
  /** undefined when the image has no record (mirroring disabled). */
  getByImageId(cluster: Cluster, pool: string, imageId: string): Promise<MirrorImage | undefined>;
  getByGlobalId(cluster: Cluster, pool: string, globalId: string): Promise<MirrorImage | undefined>;
  /**
   * Records a replica the daemon created: enabled, non-primary, with the primary's global id.
   * EEXIST when the image already has a record or the global id is taken by another image.
   */
  createNonPrimary(cluster: Cluster, pool: string, imageId: string, globalId: string): Promise<MirrorImage>;
  /** ENOENT without a record. */
  setResyncRequested(cluster: Cluster, pool: string, imageId: string, requested: boolean): Promise<MirrorImage>;
  /**
   * What replay observed: the peer demoted (this replica stays non-primary until promoted) or
   * a forced promote elsewhere. Only the flag changes; tags are the replayer's business.
   */
  setPrimary(cluster: Cluster, pool: string, imageId: string, primary: boolean): Promise<MirrorImage>;
  /**
   * Disables mirroring of an image (record → disabling → gone, peer journal clients dropped,
   * journaling kept). `force` allows it on a non-primary image (the daemon removing a replica).
   */
  disable(cluster: Cluster, pool: string, imageId: string, opts?: { force?: boolean }): Promise<void>;
  /** Calls `cb` on every image change in the pool (by any process); re-read, the event is a cue. */
  watch(cluster: Cluster, pool: string, cb: (ev: ImageUpdatedEvent) => void): Promise<WatchHandle>;
}
