/**
 * The `images` service: what other modules get from `ctx.service('rbd', 'images')`.
 *
 * These are the types of the service's public surface. Other modules may import them with
 * `import type` (nothing of this module runs through such an import) or declare the subset
 * they use structurally.
 */
import type { Cluster, IoCtx } from '../../host/index.js';

/** What `rbd info` knows about an image, read from its header. */
export interface ImageInfo {
  name: string;
  id: string;
  pool: string;
  poolId: number;
  size: number;
  order: number;
  objectSize: number;
  /** ceil(size / objectSize). */
  numObjects: number;
  features: number;
  opFeatures: number;
  flags: number;
  /** `rbd_data.<id>`, or `rbd_data.<poolId>.<id>` with a data pool. */
  blockNamePrefix: string;
  /** Pool holding the data objects when it differs from the image's pool. */
  dataPool?: string;
  dataPoolId?: number;
  /** ms since the epoch. */
  createTimestamp: number;
  accessTimestamp: number;
  modifyTimestamp: number;
}

export interface CreateImageOptions {
  /** Bytes. */
  size: number;
  /** Feature mask; default from `rbd default features` (61). */
  features?: number;
  /** log2 of the object size (12–25); default `rbd default order` (22). */
  order?: number;
  /** Object size in bytes, a power of two; an alternative to `order`. */
  objectSize?: number;
  /** Pool for the data objects; default `rbd default data pool`. */
  dataPool?: string;
  /**
   * The image id to use (12 lowercase hex digits), instead of a random one: the mirror daemon
   * records the id of a replica before creating it, as rbd-mirror does, so that after a crash
   * it knows the half-made replica as its own. EEXIST when an image already has this id.
   */
  id?: string;
}

export interface OpenImageOptions {
  /** No writes, no header watch, no exclusive lock (what `rbd export` and `rbd info` use). */
  readOnly?: boolean;
  /**
   * Who writes: `client` (default; `rbd bench`, import, the library) or `replay` (the
   * mirror daemon applying a peer's journal). Stages decide with it, e.g. image-state
   * refuses `client` writes on a non-primary image but lets `replay` through.
   */
  purpose?: 'client' | 'replay';
  /** How long a writer waits for another live client's exclusive lock before EBUSY. */
  lockWaitTimeoutMs?: number;
}

/** One change on its way to the data objects, as stages (and the journal) see it. */
export type WriteEvent =
  | { type: 'write'; offset: number; length: number; data: Uint8Array }
  | { type: 'discard'; offset: number; length: number }
  | { type: 'write_zeroes'; offset: number; length: number }
  | { type: 'flush' }
  | { type: 'resize'; size: number; oldSize: number }
  | {
      type: 'update_features';
      /** The bits that change (object-map and fast-diff travel together). */
      features: number;
      enabled: boolean;
      oldFeatures: number;
      newFeatures: number;
    };

/**
 * A pluggable step of the one write path. Every write-like call of every client goes:
 * `beforeLock` → exclusive lock (if the image has exclusive-lock) → `afterLock` →
 * `beforeApply` of every stage by ascending `order` → apply to data objects / header →
 * `afterApply` by descending `order` → ack.
 *
 * A throw from `beforeLock`, `afterLock` or `beforeApply` refuses the operation: nothing is
 * applied, and stages whose `beforeApply` already ran get `afterApply` with the error.
 * @example
 * images.registerWriteStage({ name: 'image-state', order: 10,
 *   beforeApply: (img, ev) => { if (isNonPrimary(img) && img.purpose === 'client') throw readOnly(); } });
 */
export interface WriteStage {
  /** Unique; registering a name again replaces the earlier stage. */
  name: string;
  /** Lower runs first: image-state (10) refuses before journaling (20) appends. */
  order: number;
  /**
   * Once per lock acquisition attempt, before asking for the lock (for images without
   * exclusive-lock: once, before the first write). Refuse early here (EROFS on a non-primary
   * image) so a client does not wait for a lock it may not use.
   */
  beforeLock?(img: Image): void | Promise<void>;
  /** Right after the lock is taken (journaling allocates its tag). A throw releases the lock. */
  afterLock?(img: Image): void | Promise<void>;
  /** Before the event is applied; the value returned comes back to `afterApply`. */
  beforeApply?(img: Image, event: WriteEvent): unknown;
  /** After the apply (or after a refusal later in the chain, then with `error`). */
  afterApply?(img: Image, event: WriteEvent, token: unknown, error?: Error): void | Promise<void>;
  /** Before the lock is released on close (journaling flushes its commit position). */
  beforeRelease?(img: Image): void | Promise<void>;
}

/**
 * Lines and JSON keys a later module adds to `rbd info` (journal, mirroring).
 * `collect` returns top-level JSON keys (rbd's names); `render` turns the whole info result
 * back into plain lines, without the leading tab.
 * @example
 * { name: 'journal', order: 10,
 *   collect: async (img) => hasJournal(img) ? { journal: img.id } : undefined,
 *   render: (r) => typeof r.journal === 'string' ? [`journal: ${r.journal}`] : [] }
 */
export interface InfoSection {
  name: string;
  order: number;
  collect(img: Image): Promise<Record<string, unknown> | undefined>;
  render(result: Record<string, unknown>): string[];
}

/** An image's identity as create and remove hooks see it. */
export interface ImageRef {
  cluster: Cluster;
  /** The image's pool (header, directory). */
  ioctx: IoCtx;
  info: ImageInfo;
}

/**
 * Steps other modules add to image creation and removal (journal create/remove, mirroring
 * enable in pool mode / disable). A throw from `afterCreate` rolls the creation back; a throw
 * from `beforeRemove` stops the removal with nothing removed.
 */
export interface LifecycleHook {
  name: string;
  order: number;
  afterCreate?(ref: ImageRef): Promise<void>;
  beforeRemove?(ref: ImageRef): Promise<void>;
}

/** An open image. */
export interface Image {
  readonly cluster: Cluster;
  /** The image's pool. */
  readonly ioctx: IoCtx;
  readonly pool: string;
  readonly name: string;
  readonly id: string;
  readonly readOnly: boolean;
  readonly purpose: 'client' | 'replay';
  /** The header as last read (refreshed on header-update notifies and after own changes). */
  readonly info: ImageInfo;
  /** Whether this handle holds the exclusive lock now. */
  readonly lockOwner: boolean;

  /** Bytes `[offset, offset+length)`; unwritten ranges read as zeros. */
  read(offset: number, length: number): Promise<Buffer>;
  write(offset: number, data: Uint8Array): Promise<void>;
  /** The range reads as zeros afterwards; whole objects are removed. */
  discard(offset: number, length: number): Promise<void>;
  writeZeroes(offset: number, length: number): Promise<void>;
  /** Waits for in-flight writes; takes the lock like a write does (librbd's flush). */
  flush(): Promise<void>;
  /** Shrinking needs `allowShrink`; `onProgress(done, total)` counts removed objects. */
  resize(size: number, opts?: { allowShrink?: boolean; onProgress?: (done: number, total: number) => void }): Promise<void>;
  updateFeatures(mask: number, enabled: boolean): Promise<void>;
  /** Applies an event through the write path (what journal replay calls). */
  apply(event: WriteEvent): Promise<void>;
  /**
   * Applies ranged events (write, discard, write_zeroes) that do not overlap one another, a
   * replayed batch after its plan: each passes the write stages as if submitted alone, all
   * at once, and the writes that land in one data object go to it as one compound
   * operation. They commute, so no order among them is kept. Any bad range fails the call
   * before anything is applied.
   */
  applyDisjoint(events: readonly WriteEvent[]): Promise<void>;
  /** Re-reads the header. */
  refresh(): Promise<ImageInfo>;
  /** Releases the lock (after `beforeRelease` stages), unwatches, closes the ioctx. */
  close(): Promise<void>;
}

export interface ImageListEntry {
  name: string;
  id: string;
}

/** The `images` service. */
export interface ImagesService {
  createImage(cluster: Cluster, pool: string, name: string, opts: CreateImageOptions): Promise<ImageInfo>;
  listImages(cluster: Cluster, pool: string): Promise<ImageListEntry[]>;
  openImage(cluster: Cluster, pool: string, name: string, opts?: OpenImageOptions): Promise<Image>;
  openImageById(cluster: Cluster, pool: string, id: string, opts?: OpenImageOptions): Promise<Image>;
  /** EBUSY while any client watches the image; `onProgress(done, total)` per data object. */
  removeImage(cluster: Cluster, pool: string, name: string, opts?: { onProgress?: (done: number, total: number) => void }): Promise<void>;
  /** @returns a function that unregisters the stage. */
  registerWriteStage(stage: WriteStage): () => void;
  registerInfoSection(section: InfoSection): () => void;
  registerLifecycleHook(hook: LifecycleHook): () => void;
  /** Feature bits by Ceph name, e.g. `features.journaling === 64`. */
  readonly features: Readonly<Record<string, number>>;
  featureNames(mask: number): string[];
}
