/**
 * An open image: reads go straight to the data objects; everything that changes the image
 * goes through its WritePath. Open handles (except read-only ones) watch the header, to hold
 * the exclusive lock and to hear `header_update` and `released_lock` notifies.
 */
import { err, type Cluster, type IoCtx, type Logger, type NotifyMessage, type WatchHandle } from '../../host/index.js';
import type { Image, ImageInfo, WriteEvent } from './api.js';
import { DataObjects } from './data-objects.js';
import { ExclusiveLock, NOTIFY_RELEASED_LOCK } from './exclusive-lock.js';
import { EXCLUSIVE_LOCK, hasFeature, planFeatureUpdate } from './features.js';
import type { ImageHooks } from './hooks.js';
import { headerObjectName } from './image-directory.js';
import { encodeField, readHeader, updateHeader, type HeaderFields } from './image-header.js';
import { imageNotFound } from './rbd-errors.js';
import { numObjects } from './striper.js';
import { WritePath } from './write-path.js';

export const NOTIFY_HEADER_UPDATE = 'header_update';
/** librbd's `rbd_mtime_update_interval` / `rbd_atime_update_interval` (60 s). */
export const TIMESTAMP_UPDATE_INTERVAL_MS = 60_000;

export interface ImageParts {
  cluster: Cluster;
  ioctx: IoCtx;
  /** The data pool's ioctx, or `ioctx` itself. */
  dataIoctx: IoCtx;
  name: string;
  id: string;
  info: ImageInfo;
  readOnly: boolean;
  purpose: 'client' | 'replay';
  lockWaitTimeoutMs: number;
  hooks: ImageHooks;
  log?: Logger;
}

export function buildInfo(name: string, id: string, pool: string, poolId: number, h: HeaderFields, dataPool: string | undefined): ImageInfo {
  const objectSize = 2 ** h.order;
  return {
    name,
    id,
    pool,
    poolId,
    size: h.size,
    order: h.order,
    objectSize,
    numObjects: numObjects(h.size, objectSize),
    features: h.features,
    opFeatures: h.opFeatures,
    flags: h.flags,
    blockNamePrefix: h.objectPrefix,
    ...(dataPool !== undefined && h.dataPoolId !== undefined ? { dataPool, dataPoolId: h.dataPoolId } : {}),
    createTimestamp: h.createTimestamp,
    accessTimestamp: h.accessTimestamp,
    modifyTimestamp: h.modifyTimestamp,
  };
}

/** rbd's refusal to shrink by accident. */
export function checkShrink(oldSize: number, newSize: number, allowShrink: boolean): void {
  if (newSize < oldSize && !allowShrink) {
    throw err('ERR_INVALID_ARGUMENT', 'shrinking an image is only allowed with the --allow-shrink flag');
  }
}

export class RbdImage implements Image {
  readonly cluster: Cluster;
  readonly ioctx: IoCtx;
  readonly name: string;
  readonly id: string;
  readonly readOnly: boolean;
  readonly purpose: 'client' | 'replay';
  private current: ImageInfo;
  private readonly data: DataObjects;
  private readonly dataIoctx: IoCtx;
  private readonly lock: ExclusiveLock;
  private readonly path: WritePath;
  private readonly log: Logger | undefined;
  private watchHandle: WatchHandle | undefined;
  private touching: Promise<void> | undefined;
  private closed = false;

  constructor(p: ImageParts) {
    this.cluster = p.cluster;
    this.ioctx = p.ioctx;
    this.dataIoctx = p.dataIoctx;
    this.name = p.name;
    this.id = p.id;
    this.readOnly = p.readOnly;
    this.purpose = p.purpose;
    this.current = p.info;
    this.log = p.log;
    this.data = new DataObjects(p.dataIoctx, p.info.blockNamePrefix, p.info.objectSize);
    this.lock = new ExclusiveLock(p.ioctx, this.headerOid, p.cluster.instanceId, () => this.watchHandle?.cookie ?? '', {
      timeoutMs: p.lockWaitTimeoutMs,
      spec: this.spec,
      ...(p.log ? { log: p.log } : {}),
    });
    this.path = new WritePath(this, this.lock, p.hooks, p.log);
  }

  get pool(): string {
    return this.current.pool;
  }

  get info(): ImageInfo {
    return this.current;
  }

  get lockOwner(): boolean {
    return this.lock.owner;
  }

  private get spec(): string {
    return `${this.current.pool}/${this.name}`;
  }

  private get headerOid(): string {
    return headerObjectName(this.id);
  }

  /** Starts the header watch; `open` calls it for writable handles. */
  async watch(): Promise<void> {
    this.watchHandle = await this.ioctx.watch(this.headerOid, (m) => this.onNotify(m), (e) => this.onWatchError(e));
  }

  async read(offset: number, length: number): Promise<Buffer> {
    this.checkRange(offset, length);
    return this.data.read(offset, length);
  }

  async write(offset: number, data: Uint8Array): Promise<void> {
    this.checkRange(offset, data.length);
    await this.path.submit({ type: 'write', offset, length: data.length, data }, () => this.data.write(offset, data));
    await this.touchModified();
  }

  async discard(offset: number, length: number): Promise<void> {
    this.checkRange(offset, length);
    await this.path.submit({ type: 'discard', offset, length }, () => this.data.zero(offset, length));
    await this.touchModified();
  }

  async writeZeroes(offset: number, length: number): Promise<void> {
    this.checkRange(offset, length);
    await this.path.submit({ type: 'write_zeroes', offset, length }, () => this.data.zero(offset, length));
    await this.touchModified();
  }

  flush(): Promise<void> {
    this.checkOpen();
    return this.path.flush();
  }

  async resize(size: number, opts: { allowShrink?: boolean; onProgress?: (done: number, total: number) => void } = {}): Promise<void> {
    this.checkOpen();
    if (!Number.isSafeInteger(size) || size < 0) throw err('ERR_INVALID_ARGUMENT', `invalid image size ${size}`);
    const oldSize = (await this.refresh()).size;
    checkShrink(oldSize, size, opts.allowShrink === true);
    if (size === oldSize) return;
    await this.path.submit({ type: 'resize', size, oldSize }, async () => {
      if (size < oldSize) await this.data.trimTo(size, opts.onProgress);
      const guard = encodeField('size', oldSize);
      await updateHeader(this.ioctx, this.id, { size }, [{ op: 'cmp_omap', key: guard.key, cmp: 'eq', value: guard.value }]);
    });
    await this.headerChanged();
  }

  async updateFeatures(mask: number, enabled: boolean): Promise<void> {
    this.checkOpen();
    const plan = planFeatureUpdate((await this.refresh()).features, mask, enabled);
    const event: WriteEvent = {
      type: 'update_features',
      features: plan.changed,
      enabled: plan.enabled,
      oldFeatures: plan.oldFeatures,
      newFeatures: plan.newFeatures,
    };
    await this.path.submit(event, async () => {
      const guard = encodeField('features', plan.oldFeatures);
      await updateHeader(this.ioctx, this.id, { features: plan.newFeatures }, [{ op: 'cmp_omap', key: guard.key, cmp: 'eq', value: guard.value }]);
    });
    await this.headerChanged();
    // Without the feature the lock means nothing; keeping it would block other writers.
    if (!hasFeature(plan.newFeatures, EXCLUSIVE_LOCK) && this.lock.owner) await this.lock.release();
  }

  async apply(event: WriteEvent): Promise<void> {
    switch (event.type) {
      case 'write': return this.write(event.offset, event.data);
      case 'discard': return this.discard(event.offset, event.length);
      case 'write_zeroes': return this.writeZeroes(event.offset, event.length);
      case 'flush': return this.flush();
      case 'resize': return this.resize(event.size, { allowShrink: true });
      case 'update_features': return this.updateFeatures(event.features, event.enabled);
    }
  }

  async applyDisjoint(events: readonly WriteEvent[]): Promise<void> {
    this.checkOpen();
    const writes: Array<{ offset: number; data: Uint8Array }> = [];
    const zeroes: Array<{ offset: number; length: number }> = [];
    for (const ev of events) {
      if (ev.type === 'write') {
        this.checkRange(ev.offset, ev.data.length);
        writes.push({ offset: ev.offset, data: ev.data });
      } else if (ev.type === 'discard' || ev.type === 'write_zeroes') {
        this.checkRange(ev.offset, ev.length);
        zeroes.push({ offset: ev.offset, length: ev.length });
      } else {
        throw err('ERR_INVALID_ARGUMENT', `applyDisjoint takes writes, discards and write_zeroes, not ${ev.type}`);
      }
    }
    if (!writes.length && !zeroes.length) return;
    await this.path.submitAll(events, () => Promise.all([
      this.data.writeMany(writes),
      ...zeroes.map((z) => this.data.zero(z.offset, z.length)),
    ]));
    await this.touchModified();
  }

  async refresh(): Promise<ImageInfo> {
    const h = await readHeader(this.ioctx, this.id);
    if (!h) throw imageNotFound(this.name);
    this.current = buildInfo(this.name, this.id, this.current.pool, this.current.poolId, h, this.current.dataPool);
    return this.current;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.path.stop();
      if (this.touching) await this.touching;
    } finally {
      await this.watchHandle?.close().catch((e: unknown) => this.log?.debug(`unwatch of ${this.spec} failed`, e));
      this.watchHandle = undefined;
      if (this.dataIoctx !== this.ioctx) await this.dataIoctx.close();
      await this.ioctx.close();
    }
  }

  /** Sets the access timestamp when it is older than the update interval. */
  async touchAccessed(): Promise<void> {
    const now = Date.now();
    if (now - this.current.accessTimestamp < TIMESTAMP_UPDATE_INTERVAL_MS) return;
    await updateHeader(this.ioctx, this.id, { accessTimestamp: now });
    this.current = { ...this.current, accessTimestamp: now };
  }

  private async touchModified(): Promise<void> {
    const now = Date.now();
    if (now - this.current.modifyTimestamp < TIMESTAMP_UPDATE_INTERVAL_MS) return;
    this.touching ??= updateHeader(this.ioctx, this.id, { modifyTimestamp: now })
      .then(() => {
        this.current = { ...this.current, modifyTimestamp: now };
      })
      .finally(() => {
        this.touching = undefined;
      });
    await this.touching;
  }

  private async headerChanged(): Promise<void> {
    await this.refresh();
    await this.ioctx.notify(this.headerOid, Buffer.from(JSON.stringify({ op: NOTIFY_HEADER_UPDATE })), 1000)
      .catch((e: unknown) => this.log?.debug(`header_update notify on ${this.spec} failed`, e));
  }

  private onNotify(m: NotifyMessage): void {
    let op: unknown;
    try {
      op = (JSON.parse(m.payload.toString()) as { op?: unknown }).op;
    } catch {
      return;
    }
    if (op === NOTIFY_RELEASED_LOCK) this.lock.released();
    else if (op === NOTIFY_HEADER_UPDATE && !this.closed) {
      this.refresh().catch((e: unknown) => this.log?.warn(`refresh of ${this.spec} after header_update failed`, e));
    }
  }

  private onWatchError(e: Error): void {
    this.log?.warn(`header watch of ${this.spec} failed`, e);
    this.lock.lost();
    if (this.closed) return;
    this.watch().catch((e2: unknown) => this.log?.error(`re-watch of ${this.spec} failed`, e2));
  }

  private checkOpen(): void {
    if (this.closed) throw err('ERR_INVALID_ARGUMENT', `image ${this.spec} is closed`);
  }

  private checkRange(offset: number, length: number): void {
    this.checkOpen();
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
      throw err('ERR_INVALID_ARGUMENT', `invalid I/O range ${offset}~${length}`);
    }
    if (offset + length > this.current.size) {
      throw err('ERR_INVALID_ARGUMENT',
        `I/O range ${offset}~${length} is beyond the end of image ${this.spec} (size ${this.current.size})`);
    }
  }
}
