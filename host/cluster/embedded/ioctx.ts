/**
 * An open pool of an embedded cluster. Every object call is validated, checked against the
 * caps, then queued on the connection's group committer as one compound operation.
 */
import { checkOsd, type OsdPerm } from '../caps.js';
import {
  DEFAULT_NOTIFY_TIMEOUT_MS, MAX_OBJECT_SIZE,
  type IoCtx, type LockInfo, type NotifyResult, type ObjectStat, type OmapPage, type ReadOp, type ReadResult,
  type WatchCallback, type WatcherInfo, type WatchHandle, type WriteOp, type WriteStep,
  type LockOptions,
} from '../store.js';
import type { EmbeddedCluster } from './cluster.js';
import { shutDown } from './committer.js';
import { LockSupport } from './ioctx-locks.js';
import type { PoolRef } from './object-ops.js';
import { validateOid, validateReadOp, validateText, validateWriteOp } from './validate.js';
import { WatchSupport } from './ioctx-watch.js';

export class EmbeddedIoCtx implements IoCtx {
  readonly poolName: string;
  readonly poolId: number;
  private closed = false;
  private readonly watches: WatchSupport;
  private readonly lockCalls: LockSupport;

  constructor(readonly cluster: EmbeddedCluster, readonly pool: PoolRef, private readonly onClose: () => void) {
    this.poolName = pool.name;
    this.poolId = pool.id;
    this.watches = new WatchSupport(this);
    this.lockCalls = new LockSupport(this);
  }

  /** Throws unless open, the oid is valid and the caps grant `need` on this pool. */
  check(oid: string | null, need: readonly OsdPerm[], what: string): void {
    if (this.closed) throw shutDown();
    this.cluster.checkOpen();
    if (oid !== null) validateOid(oid);
    checkOsd(this.cluster.caps, this.poolName, need, oid === null ? `${what} ${this.poolName}` : `${what} ${this.poolName}/${oid}`);
  }

  async operate(oid: string, op: WriteOp): Promise<void> {
    this.check(oid, op?.guards?.length ? ['r', 'w'] : ['w'], 'error writing');
    const bytes = validateWriteOp(op);
    const effects = await this.cluster.committer.write(
      () => this.cluster.ops.applyWrite(this.pool, oid, op, Date.now()),
      bytes,
    );
    this.cluster.disconnect(effects.disconnected, `object ${this.poolName}/${oid} removed`);
  }

  async operateRead(oid: string, op: ReadOp): Promise<ReadResult[]> {
    this.check(oid, ['r'], 'error reading');
    validateReadOp(op);
    return this.cluster.committer.read(() => this.cluster.reads.applyRead(this.pool, oid, op));
  }

  private step(oid: string, step: WriteStep): Promise<void> {
    return this.operate(oid, { steps: [step] });
  }

  private async readOne<T extends ReadResult['op']>(oid: string, step: ReadOp['steps'][number] & { op: T }) {
    const [r] = await this.operateRead(oid, { steps: [step] });
    return r as Extract<ReadResult, { op: T }>;
  }

  async read(oid: string, offset = 0, length?: number): Promise<Buffer> {
    // No length: the rest of the object (clamped to its size, so the limit is a no-op).
    return (await this.readOne(oid, { op: 'read', offset, length: length ?? MAX_OBJECT_SIZE })).data;
  }

  write(oid: string, data: Uint8Array, offset: number): Promise<void> {
    return this.step(oid, { op: 'write', offset, data });
  }

  writeFull(oid: string, data: Uint8Array): Promise<void> {
    return this.step(oid, { op: 'write_full', data });
  }

  append(oid: string, data: Uint8Array): Promise<void> {
    return this.step(oid, { op: 'append', data });
  }

  truncate(oid: string, size: number): Promise<void> {
    return this.step(oid, { op: 'truncate', size });
  }

  remove(oid: string): Promise<void> {
    return this.step(oid, { op: 'remove' });
  }

  async stat(oid: string): Promise<ObjectStat> {
    return (await this.readOne(oid, { op: 'stat' })).stat;
  }

  async getXattr(oid: string, name: string): Promise<Buffer> {
    return (await this.readOne(oid, { op: 'getxattr', name })).value;
  }

  async getXattrs(oid: string): Promise<Map<string, Buffer>> {
    return (await this.readOne(oid, { op: 'getxattrs' })).xattrs;
  }

  setXattr(oid: string, name: string, value: Uint8Array): Promise<void> {
    return this.step(oid, { op: 'setxattr', name, value });
  }

  rmXattr(oid: string, name: string): Promise<void> {
    return this.step(oid, { op: 'rmxattr', name });
  }

  async omapGetVals(oid: string, opts: { after?: string; prefix?: string; max?: number } = {}): Promise<OmapPage> {
    const { entries, more } = await this.readOne(oid, { op: 'omap_get_vals', ...opts });
    return { entries, more };
  }

  async omapGetValsByKeys(oid: string, keys: string[]): Promise<Map<string, Buffer>> {
    return (await this.readOne(oid, { op: 'omap_get_vals_by_keys', keys })).entries;
  }

  omapSet(oid: string, entries: Map<string, Uint8Array>): Promise<void> {
    return this.step(oid, { op: 'omap_set', entries });
  }

  omapRemoveKeys(oid: string, keys: string[]): Promise<void> {
    return this.step(oid, { op: 'omap_rm', keys });
  }

  omapClear(oid: string): Promise<void> {
    return this.step(oid, { op: 'omap_clear' });
  }

  async *listObjects(opts: { prefix?: string } = {}): AsyncIterable<string> {
    this.check(null, ['r'], 'error listing objects in');
    const prefix = opts.prefix ?? '';
    validateText('listObjects prefix', prefix);
    let after = '';
    for (;;) {
      const page = await this.cluster.committer.read(() => this.cluster.reads.listPage(this.pool, after, prefix));
      yield* page.names;
      if (page.done || page.names.length === 0) return;
      after = page.names[page.names.length - 1]!;
    }
  }

  watch(oid: string, cb: WatchCallback, onError?: (e: Error) => void): Promise<WatchHandle> {
    return this.watches.watch(oid, cb, onError);
  }

  notify(oid: string, payload: Uint8Array, timeoutMs = DEFAULT_NOTIFY_TIMEOUT_MS): Promise<NotifyResult> {
    return this.watches.notify(oid, payload, timeoutMs);
  }

  listWatchers(oid: string): Promise<WatcherInfo[]> {
    return this.watches.listWatchers(oid);
  }

  lockExclusive(oid: string, name: string, cookie: string, opts: LockOptions & { tag?: string } = {}): Promise<void> {
    return this.lockCalls.lock(oid, name, cookie, true, opts.tag ?? '', opts);
  }

  lockShared(oid: string, name: string, cookie: string, tag: string, opts: LockOptions = {}): Promise<void> {
    return this.lockCalls.lock(oid, name, cookie, false, tag, opts);
  }

  unlock(oid: string, name: string, cookie: string): Promise<void> {
    return this.lockCalls.unlock(oid, name, this.cluster.instanceId, cookie, 'error unlocking');
  }

  breakLock(oid: string, name: string, instanceId: string, cookie: string): Promise<void> {
    return this.lockCalls.unlock(oid, name, instanceId, cookie, 'error breaking lock on');
  }

  getLockInfo(oid: string, name: string): Promise<LockInfo> {
    return this.lockCalls.info(oid, name);
  }

  /** Closes the ioctx and the watches opened through it. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.watches.closeAll();
    this.onClose();
  }
}
