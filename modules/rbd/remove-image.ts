/**
 * Removes an image, tolerating one whose creation or removal stopped half-way:
 *
 * ```
 *  open pool ─ ENOENT ─▶ error opening pool
 *    ▼
 *  id from rbd_id.<name> or the directory ─ neither ─▶ ERR_IMAGE_NOT_FOUND
 *    ▼
 *  header present? ── no ──────────────────────────────────────────┐
 *    ▼ yes                                                          │
 *  any watcher on the header ─▶ ERR_IMAGE_BUSY, nothing removed     │
 *    ▼                                                              │
 *  lifecycle hooks' beforeRemove, by order ─ throw ─▶ nothing removed
 *    ▼                                                              │
 *  remove data objects (progress per object), then the header       │
 *    ▼ ◀────────────────────────────────────────────────────────────┘
 *  remove the directory entries, then rbd_id.<name> (the name's claim goes last)
 * ```
 * A client that holds the exclusive lock keeps a watch, so a live writer makes this EBUSY;
 * a dead writer's lock goes away with the header.
 */
import { err, type Cluster, type IoCtx, type Logger } from '../../host/index.js';
import type { ImageRef } from './api.js';
import { DataObjects } from './data-objects.js';
import type { ImageHooks } from './hooks.js';
import { headerObjectName, ignoreEnoent, lookupImageId, removeFromDirectory, removeIdObject } from './image-directory.js';
import { readHeader } from './image-header.js';
import { buildInfo } from './image.js';
import { openPool, poolNameById } from './open-image.js';
import { imageNotFound } from './rbd-errors.js';

export interface RemoveContext {
  hooks: ImageHooks;
  log?: Logger;
}

export async function removeImage(
  cx: RemoveContext, cluster: Cluster, pool: string, name: string,
  opts: { onProgress?: (done: number, total: number) => void } = {},
): Promise<void> {
  const ioctx = await openPool(cluster, pool);
  try {
    const id = await lookupImageId(ioctx, name);
    if (id === undefined) throw imageNotFound(name);
    await removeWithHeader(cx, cluster, ioctx, name, id, opts.onProgress);
    await removeFromDirectory(ioctx, name, id);
    await removeIdObject(ioctx, name);
  } finally {
    await ioctx.close();
  }
}

async function removeWithHeader(
  cx: RemoveContext, cluster: Cluster, ioctx: IoCtx, name: string, id: string,
  onProgress: ((done: number, total: number) => void) | undefined,
): Promise<void> {
  const header = await readHeader(ioctx, id);
  if (!header) return;
  const watchers = await ignoreEnoent(ioctx.listWatchers(headerObjectName(id)));
  if (watchers && watchers.length > 0) {
    throw err('ERR_IMAGE_BUSY',
      'error: image still has watchers. This means the image is still open or the client using it crashed. ' +
      'Try again after closing it; delete error: (16) Device or resource busy');
  }
  const dataPool = header.dataPoolId !== undefined ? await poolNameById(cluster, header.dataPoolId) : undefined;
  const ref: ImageRef = { cluster, ioctx, info: buildInfo(name, id, ioctx.poolName, ioctx.poolId, header, dataPool) };
  for (const hook of cx.hooks.lifecycle.list()) await hook.beforeRemove?.(ref);
  const dataIoctx = dataPool !== undefined ? await openPool(cluster, dataPool) : ioctx;
  try {
    const data = new DataObjects(dataIoctx, header.objectPrefix, 2 ** header.order);
    await data.removeObjects(await data.existingObjects(), onProgress);
  } finally {
    if (dataIoctx !== ioctx) await dataIoctx.close();
  }
  await ignoreEnoent(ioctx.remove(headerObjectName(id)));
}
