/**
 * Opens an image by name or id:
 *
 * ```
 *  open pool ─ ENOENT ─▶ error opening pool 'P': (2) No such file or directory
 *    ▼
 *  id from rbd_id.<name> (or the directory) ─ missing ─▶ error opening image NAME: (2) …
 *    ▼
 *  read rbd_header.<id> ─ missing ─▶ the same ENOENT
 *    ▼
 *  open the data pool (if any)
 *    ▼
 *  writable handle: watch the header, refresh the access timestamp ─ error ─▶ close, rethrow
 * ```
 */
import { errno, type Cluster, type IoCtx, type Logger } from '../../host/index.js';
import type { OpenImageOptions } from './api.js';
import type { ImageHooks } from './hooks.js';
import { lookupImageId, lookupImageName } from './image-directory.js';
import { readHeader } from './image-header.js';
import { buildInfo, RbdImage } from './image.js';
import { imageNotFound, isErrno, poolNotFound } from './rbd-errors.js';

export interface OpenContext {
  hooks: ImageHooks;
  defaultLockWaitTimeoutMs: number;
  log?: Logger;
}

export async function openPool(cluster: Cluster, pool: string): Promise<IoCtx> {
  try {
    return await cluster.ioctx(pool);
  } catch (e) {
    if (isErrno(e, 'ENOENT')) throw poolNotFound(pool);
    throw e;
  }
}

export async function poolNameById(cluster: Cluster, poolId: number): Promise<string> {
  const found = (await cluster.listPools()).find((p) => p.id === poolId);
  if (!found) throw errno('ENOENT', 'ERR_RBD_DATA_POOL_MISSING', `data pool with id ${poolId} does not exist`);
  return found.name;
}

export async function openImage(
  cx: OpenContext, cluster: Cluster, pool: string, by: { name: string } | { id: string }, opts: OpenImageOptions = {},
): Promise<RbdImage> {
  const ioctx = await openPool(cluster, pool);
  let dataIoctx: IoCtx | undefined;
  let img: RbdImage | undefined;
  try {
    const { name, id } = await resolve(ioctx, by);
    const header = await readHeader(ioctx, id);
    if (!header) throw imageNotFound(name);
    let dataPool: string | undefined;
    if (header.dataPoolId !== undefined) {
      dataPool = await poolNameById(cluster, header.dataPoolId);
      dataIoctx = await openPool(cluster, dataPool);
    }
    img = new RbdImage({
      cluster,
      ioctx,
      dataIoctx: dataIoctx ?? ioctx,
      name,
      id,
      info: buildInfo(name, id, pool, ioctx.poolId, header, dataPool),
      readOnly: opts.readOnly ?? false,
      purpose: opts.purpose ?? 'client',
      lockWaitTimeoutMs: opts.lockWaitTimeoutMs ?? cx.defaultLockWaitTimeoutMs,
      hooks: cx.hooks,
      ...(cx.log ? { log: cx.log } : {}),
    });
    if (!img.readOnly) {
      await img.watch();
      await img.touchAccessed();
    }
    return img;
  } catch (e) {
    // Once built, the image owns the ioctxs and closes them itself.
    if (img) await img.close().catch(() => undefined);
    else {
      if (dataIoctx) await dataIoctx.close().catch(() => undefined);
      await ioctx.close().catch(() => undefined);
    }
    throw e;
  }
}

async function resolve(ioctx: IoCtx, by: { name: string } | { id: string }): Promise<{ name: string; id: string }> {
  if ('name' in by) {
    const id = await lookupImageId(ioctx, by.name);
    if (id === undefined) throw imageNotFound(by.name);
    return { name: by.name, id };
  }
  const name = await lookupImageName(ioctx, by.id);
  if (name === undefined) throw imageNotFound(by.id);
  return { name, id: by.id };
}
