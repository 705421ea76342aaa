/**
 * Creates a format-2 image, in librbd's `CreateRequest` order:
 *
 * ```
 *  validate name, size, order, features, data pool ─ bad ─▶ EINVAL/ENOENT, nothing written
 *    ▼
 *  claim rbd_id.<name> (exclusive create) ─ taken ─▶ ERR_IMAGE_EXISTS, nothing written
 *    ▼
 *  create rbd_header.<id> (exclusive) ────────┐
 *    ▼                                        │
 *  add name_<name>/id_<id> to rbd_directory ──┤ error
 *    ▼                                        │
 *  lifecycle hooks' afterCreate, by order ────┤  (journal create, mirroring enable)
 *    ▼                                        ▼
 *  done                    roll back: hooks' beforeRemove for hooks that ran, header,
 *                          directory entries, rbd_id; rethrow
 * ```
 * The header goes before the directory entry (librbd adds the entry first, guarded by
 * cls_rbd): the store cannot guard an omap key's absence, and an exclusive header create is
 * what proves the random id is unused before the directory maps it.
 */
import { err, type Cluster, type ConfView, type IoCtx, type Logger } from '../../host/index.js';
import type { CreateImageOptions, ImageInfo, ImageRef, LifecycleHook } from './api.js';
import { featuresForCreate, parseDefaultFeatures } from './features.js';
import type { ImageHooks } from './hooks.js';
import {
  addToDirectory, generateImageId, headerObjectName, ignoreEnoent, removeFromDirectory, removeIdObject, reserveName,
} from './image-directory.js';
import { createHeader, type HeaderFields } from './image-header.js';
import { checkImageName } from './image-spec.js';
import { buildInfo } from './image.js';
import { openPool } from './open-image.js';
import { isErrno } from './rbd-errors.js';

export const MIN_ORDER = 12;
export const MAX_ORDER = 25;
export const DEFAULT_ORDER = 22;

export interface CreateContext {
  hooks: ImageHooks;
  conf: Pick<ConfView, 'get'>;
  log?: Logger;
}

interface Plan {
  size: number;
  order: number;
  features: number;
  dataPool?: { name: string; id: number };
  id: string;
}

export async function createImage(cx: CreateContext, cluster: Cluster, pool: string, name: string, opts: CreateImageOptions): Promise<ImageInfo> {
  checkImageName(name);
  const plan = await planCreate(cx, cluster, pool, opts);
  const ioctx = await openPool(cluster, pool);
  try {
    return await new CreateImageRequest(cx, cluster, ioctx, name, plan).run();
  } finally {
    await ioctx.close();
  }
}

async function planCreate(cx: CreateContext, cluster: Cluster, pool: string, opts: CreateImageOptions): Promise<Plan> {
  const einval = (why: string) => err('ERR_INVALID_ARGUMENT', `${why}; create error: (22) Invalid argument`);
  if (!Number.isSafeInteger(opts.size) || opts.size < 0) throw einval(`invalid image size ${opts.size}`);
  let order: number;
  if (opts.order !== undefined) order = opts.order;
  else if (opts.objectSize !== undefined) {
    const o = Math.log2(opts.objectSize);
    if (!Number.isInteger(o)) throw einval(`object size ${opts.objectSize} is not a power of two`);
    order = o;
  } else {
    const conf = cx.conf.get('rbd_default_order');
    order = conf === undefined || conf === '' ? DEFAULT_ORDER : Number(conf);
  }
  if (!Number.isInteger(order) || order < MIN_ORDER || order > MAX_ORDER) {
    throw einval(`order must be in the range [${MIN_ORDER}, ${MAX_ORDER}] (object size 4 KiB to 32 MiB), got ${order}`);
  }
  const requested = opts.features ?? parseDefaultFeatures(cx.conf.get('rbd_default_features'));
  const wantedPool = opts.dataPool ?? cx.conf.get('rbd_default_data_pool') ?? '';
  let dataPool: Plan['dataPool'];
  // As librbd: a data pool equal to the image's pool is no data pool.
  if (wantedPool !== '' && wantedPool !== pool) {
    try {
      const info = await cluster.lookupPool(wantedPool);
      dataPool = { name: info.name, id: info.id };
    } catch (e) {
      if (!isErrno(e, 'ENOENT')) throw e;
      throw err('ERR_POOL_NOT_FOUND', `data pool ${wantedPool} does not exist; create error: (2) No such file or directory`);
    }
  }
  const features = featuresForCreate(requested, dataPool !== undefined);
  if (opts.id !== undefined && !/^[0-9a-f]{12}$/.test(opts.id)) throw einval(`invalid image id '${opts.id}' (12 lowercase hex digits)`);
  return { size: opts.size, order, features, ...(dataPool ? { dataPool } : {}), id: opts.id ?? generateImageId() };
}

class CreateImageRequest {
  private readonly hooksRun: LifecycleHook[] = [];
  private info: ImageInfo | undefined;

  constructor(
    private readonly cx: CreateContext,
    private readonly cluster: Cluster,
    private readonly ioctx: IoCtx,
    private readonly name: string,
    private readonly plan: Plan,
  ) {}

  private get id(): string {
    return this.plan.id;
  }

  async run(): Promise<ImageInfo> {
    await reserveName(this.ioctx, this.name, this.id);
    try {
      const info = await this.createHeader();
      await addToDirectory(this.ioctx, this.name, this.id);
      await this.runHooks(info);
      return info;
    } catch (e) {
      await this.rollback();
      throw e;
    }
  }

  private async createHeader(): Promise<ImageInfo> {
    const now = Date.now();
    const dp = this.plan.dataPool;
    const fields: HeaderFields = {
      size: this.plan.size,
      order: this.plan.order,
      features: this.plan.features,
      // As librbd: with a data pool the prefix names the image's pool, so images of
      // several pools can share one data pool.
      objectPrefix: dp ? `rbd_data.${this.ioctx.poolId}.${this.id}` : `rbd_data.${this.id}`,
      ...(dp ? { dataPoolId: dp.id } : {}),
      opFeatures: 0,
      flags: 0,
      createTimestamp: now,
      accessTimestamp: now,
      modifyTimestamp: now,
    };
    await createHeader(this.ioctx, this.id, fields);
    this.info = buildInfo(this.name, this.id, this.ioctx.poolName, this.ioctx.poolId, fields, dp?.name);
    return this.info;
  }

  private async runHooks(info: ImageInfo): Promise<void> {
    const ref: ImageRef = { cluster: this.cluster, ioctx: this.ioctx, info };
    for (const hook of this.cx.hooks.lifecycle.list()) {
      if (!hook.afterCreate) continue;
      await hook.afterCreate(ref);
      this.hooksRun.push(hook);
    }
  }

  private async rollback(): Promise<void> {
    const step = async (what: string, fn: () => Promise<unknown>) => {
      try {
        await fn();
      } catch (e) {
        this.cx.log?.error(`rolling back the creation of ${this.ioctx.poolName}/${this.name}: ${what} failed`, e);
      }
    };
    if (this.info) {
      const ref: ImageRef = { cluster: this.cluster, ioctx: this.ioctx, info: this.info };
      for (const hook of [...this.hooksRun].reverse()) {
        if (hook.beforeRemove) await step(`hook '${hook.name}'`, () => hook.beforeRemove!(ref));
      }
    }
    // Only our own header: an EEXIST from createHeader means another image has this id.
    if (this.info) await step('header removal', () => ignoreEnoent(this.ioctx.remove(headerObjectName(this.id))));
    if (this.info) await step('directory update', () => removeFromDirectory(this.ioctx, this.name, this.id));
    await step('rbd_id removal', () => removeIdObject(this.ioctx, this.name));
  }
}
