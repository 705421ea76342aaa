/**
 * cls_lock calls of an ioctx. They are class methods on the OSD, so they need the class
 * caps: class-write to lock, unlock or break, class-read for the lock info.
 */
import type { LockInfo, LockOptions } from '../store.js';
import type { EmbeddedIoCtx } from './ioctx.js';
import { validateCount, validateText } from './validate.js';
import { err } from '../../errors.js';

export class LockSupport {
  constructor(private readonly io: EmbeddedIoCtx) {}

  private validate(name: string, cookie: string): void {
    validateText('lock name', name);
    validateText('lock cookie', cookie);
    if (name === '') throw err('ERR_INVALID_ARGUMENT', 'lock name must not be empty: (22) Invalid argument');
  }

  async lock(
    oid: string, name: string, cookie: string, exclusive: boolean, tag: string,
    opts: LockOptions,
  ): Promise<void> {
    this.io.check(oid, ['class-write'], 'error locking');
    this.validate(name, cookie);
    validateText('lock tag', tag);
    const description = opts.description ?? '';
    validateText('lock description', description);
    const durationMs = opts.durationMs ?? 0;
    validateCount('lock duration', durationMs);
    const c = this.io.cluster;
    const who = { instanceId: c.instanceId, entity: c.entity };
    await c.committer.write(() =>
      c.locks.lock(this.io.pool, oid, name, cookie, who, { exclusive, tag, description, durationMs, renew: opts.renew ?? false }, Date.now()),
    );
  }

  async unlock(oid: string, name: string, instanceId: string, cookie: string, what: string): Promise<void> {
    this.io.check(oid, ['class-write'], what);
    this.validate(name, cookie);
    validateText('locker instance id', instanceId);
    const c = this.io.cluster;
    await c.committer.write(() => c.locks.unlock(this.io.pool, oid, name, instanceId, cookie, Date.now()));
  }

  async info(oid: string, name: string): Promise<LockInfo> {
    this.io.check(oid, ['class-read'], 'error getting lock info of');
    validateText('lock name', name);
    const c = this.io.cluster;
    return c.committer.read(() => c.locks.info(this.io.pool, oid, name, Date.now()));
  }
}
