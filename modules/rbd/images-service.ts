/**
 * The `images` service (librbd's API surface): create, list, open, remove, and the hooks
 * later modules register (write stages, info sections, create/remove steps).
 */
import { err, type Cluster, type ConfView, type Logger } from '../../host/index.js';
import type {
  CreateImageOptions, Image, ImageInfo, ImageListEntry, ImagesService, InfoSection, LifecycleHook, OpenImageOptions, WriteStage,
} from './api.js';
import { createImage } from './create-image.js';
import { FEATURE_BITS, featureNames } from './features.js';
import { HOOKS, type ImageHooks } from './hooks.js';
import { listDirectory } from './image-directory.js';
import { openImage, openPool } from './open-image.js';
import { removeImage } from './remove-image.js';

/** How long a writer waits for a live client's exclusive lock before EBUSY. */
export const DEFAULT_LOCK_WAIT_TIMEOUT_MS = 30_000;

export interface LibraryContext {
  conf: Pick<ConfView, 'get'>;
  log?: Logger;
  /** Defaults to the process-wide registry that the module's commands also use. */
  hooks?: ImageHooks;
  lockWaitTimeoutMs?: number;
}

export class ImageLibrary implements ImagesService {
  readonly features: Readonly<Record<string, number>> = FEATURE_BITS;
  private readonly hooks: ImageHooks;

  constructor(private readonly cx: LibraryContext) {
    this.hooks = cx.hooks ?? HOOKS;
  }

  createImage(cluster: Cluster, pool: string, name: string, opts: CreateImageOptions): Promise<ImageInfo> {
    return createImage({ hooks: this.hooks, conf: this.cx.conf, ...this.logPart() }, cluster, pool, name, opts);
  }

  async listImages(cluster: Cluster, pool: string): Promise<ImageListEntry[]> {
    const ioctx = await openPool(cluster, pool);
    try {
      return await listDirectory(ioctx);
    } finally {
      await ioctx.close();
    }
  }

  openImage(cluster: Cluster, pool: string, name: string, opts?: OpenImageOptions): Promise<Image> {
    return openImage(this.openContext(), cluster, pool, { name }, opts);
  }

  openImageById(cluster: Cluster, pool: string, id: string, opts?: OpenImageOptions): Promise<Image> {
    return openImage(this.openContext(), cluster, pool, { id }, opts);
  }

  removeImage(cluster: Cluster, pool: string, name: string, opts?: { onProgress?: (done: number, total: number) => void }): Promise<void> {
    return removeImage({ hooks: this.hooks, ...this.logPart() }, cluster, pool, name, opts);
  }

  registerWriteStage(stage: WriteStage): () => void {
    checkEntry(stage, 'write stage');
    return this.hooks.stages.add(stage);
  }

  registerInfoSection(section: InfoSection): () => void {
    checkEntry(section, 'info section');
    return this.hooks.infoSections.add(section);
  }

  registerLifecycleHook(hook: LifecycleHook): () => void {
    checkEntry(hook, 'lifecycle hook');
    return this.hooks.lifecycle.add(hook);
  }

  featureNames(mask: number): string[] {
    return featureNames(mask);
  }

  private openContext() {
    return {
      hooks: this.hooks,
      defaultLockWaitTimeoutMs: this.cx.lockWaitTimeoutMs ?? DEFAULT_LOCK_WAIT_TIMEOUT_MS,
      ...this.logPart(),
    };
  }

  private logPart(): { log?: Logger } {
    return this.cx.log ? { log: this.cx.log } : {};
  }
}

function checkEntry(e: { name: unknown; order: unknown }, what: string): void {
  if (typeof e.name !== 'string' || e.name === '' || typeof e.order !== 'number' || !Number.isFinite(e.order)) {
    throw err('ERR_INVALID_ARGUMENT', `${what} needs a non-empty name and a numeric order`);
  }
}
