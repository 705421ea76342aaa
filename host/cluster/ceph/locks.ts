/**
 * cls_lock on librados: lock/unlock/break through the C API's lock calls, an exclusive lock
 * with a tag and the lock info (description, expiry) through the `lock` class directly.
 */
import { HostError } from '../../errors.js';
import type { LockInfo, LockOptions } from '../store.js';
import { validateCount, validateText } from '../embedded/validate.js';
import { err } from '../../errors.js';
import { decodeGetInfoReply, encodeGetInfo, encodeLock } from './encoding.js';
import { errnoOf } from './errors.js';
import type { CephIoCtx } from './ioctx.js';

export class CephLocks {
  constructor(private readonly io: CephIoCtx) {}

  private validate(oid: string, name: string, cookie: string): void {
    this.io.check(oid);
    validateText('lock name', name);
    validateText('lock cookie', cookie);
    if (name === '') throw err('ERR_INVALID_ARGUMENT', 'lock name must not be empty: (22) Invalid argument');
  }

  private lockError(e: unknown, oid: string, name: string, who: string): Promise<never> {
    const where = `lock '${name}' on ${this.io.poolName}/${oid}`;
    switch (errnoOf(e)) {
      case 'EBUSY':
        throw new HostError('ERR_LOCK_BUSY', 'EBUSY', `${where} is held by another locker: (16) Device or resource busy`, { cause: e });
      case 'EEXIST':
        throw new HostError('ERR_LOCK_EXISTS', 'EEXIST', `${where} is already held by ${who}: (17) File exists`, { cause: e });
      case 'ENOENT':
        throw new HostError('ERR_LOCK_NOT_FOUND', 'ENOENT', `${where} is not held by ${who}: (2) No such file or directory`, { cause: e });
      default:
        return this.io.fail(e, 'error locking', oid);
    }
  }

  async lock(
    oid: string, name: string, cookie: string, exclusive: boolean, tag: string,
    opts: LockOptions,
  ): Promise<void> {
    this.validate(oid, name, cookie);
    validateText('lock tag', tag);
    const description = opts.description ?? '';
    validateText('lock description', description);
    const durationMs = opts.durationMs ?? 0;
    validateCount('lock duration', durationMs);
    const n = this.io.native;
    const who = `client.${this.io.cluster.instanceId} cookie '${cookie}'`;
    // LIBRADOS_LOCK_FLAG_MAY_RENEW
    const flags = opts.renew ? 1 : 0;
    try {
      if (exclusive && tag !== '') {
        // rados_lock_exclusive has no tag parameter: call cls_lock's `lock` method.
        await n.writeOp(oid, [{ op: 'exec', cls: 'lock', method: 'lock', input: encodeLock({ name, exclusive, cookie, tag, description, durationMs, flags }) }]);
      } else if (exclusive) {
        await n.lockExclusive(oid, name, cookie, description, durationMs, flags);
      } else {
        await n.lockShared(oid, name, cookie, tag, description, durationMs, flags);
      }
    } catch (e) {
      return this.lockError(e, oid, name, who);
    }
  }

  async unlock(oid: string, name: string, cookie: string): Promise<void> {
    this.validate(oid, name, cookie);
    await this.io.native.unlock(oid, name, cookie).catch((e: unknown) => this.lockError(e, oid, name, `client.${this.io.cluster.instanceId} cookie '${cookie}'`));
  }

  async breakLock(oid: string, name: string, instanceId: string, cookie: string): Promise<void> {
    this.validate(oid, name, cookie);
    validateText('locker instance id', instanceId);
    await this.io.native.breakLock(oid, name, `client.${instanceId}`, cookie).catch((e: unknown) => this.lockError(e, oid, name, `client.${instanceId} cookie '${cookie}'`));
  }

  async info(oid: string, name: string): Promise<LockInfo> {
    this.io.check(oid);
    validateText('lock name', name);
    let raw: Buffer;
    try {
      raw = await this.io.native.exec(oid, 'lock', 'get_info', encodeGetInfo(name));
    } catch (e) {
      return this.io.fail(e, 'error getting lock info of', oid);
    }
    const info = decodeGetInfoReply(raw);
    const lockers = info.lockers.map((l) => ({
      instanceId: l.gid,
      entity: this.io.cluster.sessions.entityOf(l.gid),
      cookie: l.cookie,
      description: l.description,
      expiresAt: l.expiresAt,
    }));
    if (lockers.some((l) => l.entity === `client.${l.instanceId}`)) {
      const live = await this.io.cluster.sessions.live();
      for (const l of lockers) l.entity = live?.get(l.instanceId) || l.entity;
    }
    // cls_lock keeps the type and tag of a lock whose last holder left: report no lock then.
    if (lockers.length === 0) return { exclusive: false, tag: '', lockers };
    return { exclusive: info.type === 1 || info.type === 3, tag: info.tag, lockers };
  }
}
