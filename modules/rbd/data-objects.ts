/**
 * I/O on an image's data objects. Missing objects read as zeros (images are thin); zeroing a
 * whole object removes it, zeroing its tail truncates it, anything else punches zeros, so a
 * discarded range reads back as zeros and takes no space where the store can tell.
 */
import { errno, type IoCtx, type WriteStep } from '../../host/index.js';
import { ignoreEnoent } from './image-directory.js';
import { isErrno } from './rbd-errors.js';
import { dataObjectName, mapExtents, parseObjectNo, type ObjectExtent } from './striper.js';

/** Parallel object operations per call, as librbd's `rbd_concurrent_management_ops` (10). */
const CONCURRENCY = 10;
const GUARD_RETRIES = 5;

export class DataObjects {
  constructor(
    readonly ioctx: IoCtx,
    readonly prefix: string,
    readonly objectSize: number,
  ) {}

  oid(objectNo: number): string {
    return dataObjectName(this.prefix, objectNo);
  }

  async read(offset: number, length: number): Promise<Buffer> {
    const buf = Buffer.alloc(length);
    await Promise.all(mapExtents(offset, length, this.objectSize).map(async (ex) => {
      const data = await ignoreEnoent(this.ioctx.read(this.oid(ex.objectNo), ex.offset, ex.length));
      // A short read means the object ends early: the rest stays zero.
      if (data) data.copy(buf, ex.bufferOffset, 0, Math.min(data.length, ex.length));
    }));
    return buf;
  }

  async write(offset: number, data: Uint8Array): Promise<void> {
    await Promise.all(mapExtents(offset, data.length, this.objectSize).map((ex) =>
      this.ioctx.write(this.oid(ex.objectNo), data.subarray(ex.bufferOffset, ex.bufferOffset + ex.length), ex.offset)));
  }

  /**
   * Writes ranges that do not overlap: the pieces that fall in one object go to it as one
   * compound operation (a replayed batch of 512 random 4 KiB writes touches ~220 objects of
   * a 1 GiB image, not 512 times one).
   */
  async writeMany(writes: ReadonlyArray<{ offset: number; data: Uint8Array }>): Promise<void> {
    const byObject = new Map<number, WriteStep[]>();
    for (const w of writes) {
      for (const ex of mapExtents(w.offset, w.data.length, this.objectSize)) {
        const step: WriteStep = { op: 'write', offset: ex.offset, data: w.data.subarray(ex.bufferOffset, ex.bufferOffset + ex.length) };
        const steps = byObject.get(ex.objectNo);
        if (steps) steps.push(step);
        else byObject.set(ex.objectNo, [step]);
      }
    }
    await Promise.all(Array.from(byObject, ([objectNo, steps]) => this.ioctx.operate(this.oid(objectNo), { steps })));
  }

  async zero(offset: number, length: number): Promise<void> {
    await Promise.all(mapExtents(offset, length, this.objectSize).map((ex) => this.zeroExtent(ex)));
  }

  private async zeroExtent(ex: ObjectExtent): Promise<void> {
    const oid = this.oid(ex.objectNo);
    if (ex.offset === 0 && ex.length === this.objectSize) {
      await ignoreEnoent(this.ioctx.remove(oid));
      return;
    }
    const planned = await this.guarded(oid, (size) => {
      if (ex.offset >= size) return undefined;
      if (ex.offset + ex.length >= size) {
        return ex.offset === 0 ? { op: 'remove' } as const : { op: 'truncate', size: ex.offset } as const;
      }
      return { op: 'zero', offset: ex.offset, length: ex.length } as const;
    });
    // Busy object (parallel writes to other parts of it keep moving its version, e.g. an NBD
    // client's queue depth): a plain `zero` is right whatever the size (it never extends an
    // object, by the Store contract); only the shrink/remove niceties are given up.
    if (!planned) await ignoreEnoent(this.ioctx.operate(oid, { steps: [{ op: 'zero', offset: ex.offset, length: ex.length }] }));
  }

  /**
   * Runs a step chosen from the object's current size, atomically: the step carries an
   * `assert_version` guard and is re-planned if another writer got in between.
   * @returns false when other writers won every attempt (the caller falls back or fails).
   */
  private async guarded(
    oid: string,
    plan: (size: number) => { op: 'remove' } | { op: 'truncate'; size: number } | { op: 'zero'; offset: number; length: number } | undefined,
  ): Promise<boolean> {
    for (let attempt = 0; attempt <= GUARD_RETRIES; attempt++) {
      const stat = await ignoreEnoent(this.ioctx.stat(oid));
      if (!stat) return true;
      const step = plan(stat.size);
      if (!step) return true;
      try {
        await this.ioctx.operate(oid, { guards: [{ op: 'assert_version', version: stat.version }], steps: [step] });
        return true;
      } catch (e) {
        if (isErrno(e, 'ENOENT')) return true;
        if (!isErrno(e, 'ECANCELED')) throw e;
      }
    }
    return false;
  }

  /** Object numbers that exist, found by listing the pool (cheap for thin images). */
  async existingObjects(): Promise<number[]> {
    const out: number[] = [];
    for await (const oid of this.ioctx.listObjects({ prefix: `${this.prefix}.` })) {
      const n = parseObjectNo(this.prefix, oid);
      if (n !== undefined) out.push(n);
    }
    return out.sort((a, b) => a - b);
  }

  /** Drops everything at or past byte `size` (a shrink). */
  async trimTo(size: number, onProgress?: (done: number, total: number) => void): Promise<void> {
    const firstWhole = Math.ceil(size / this.objectSize);
    const doomed = (await this.existingObjects()).filter((n) => n >= firstWhole);
    await this.removeObjects(doomed, onProgress);
    const tail = size % this.objectSize;
    if (tail !== 0) {
      const oid = this.oid(Math.floor(size / this.objectSize));
      if (!(await this.guarded(oid, (objSize) => (objSize > tail ? { op: 'truncate', size: tail } : undefined)))) {
        throw errno('EBUSY', 'ERR_RBD_OBJECT_BUSY', `object ${oid} kept changing while it was being shrunk; try again`);
      }
    }
  }

  async removeObjects(objectNos: number[], onProgress?: (done: number, total: number) => void): Promise<void> {
    let done = 0;
    await forEachLimited(objectNos, CONCURRENCY, async (n) => {
      await ignoreEnoent(this.ioctx.remove(this.oid(n)));
      onProgress?.(++done, objectNos.length);
    });
  }
}

/** Runs `fn` over `items` with at most `limit` in flight; the first failure rejects. */
export async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
