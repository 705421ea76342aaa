/**
 * cls_lock, the way the OSD class does it (src/cls/lock/cls_lock.cc): locks are per
 * (object, name); a locker is (instance id, cookie); taking a lock creates the object;
 * expired lockers are dropped when the lock is next touched. Each call is one transaction
 * and, being a write to the object, bumps its version.
 */
import type Database from 'better-sqlite3';
import { HostError } from '../../errors.js';
import type { LockInfo, LockerInfo } from '../store.js';
import type { ObjectOps, PoolRef } from './object-ops.js';
import type { Db } from './sqlite-schema.js';

interface LockRow {
  instance_id: string;
  cookie: string;
  entity: string;
  exclusive: number;
  tag: string;
  description: string;
  expires_at: number;
}

export interface Locker {
  instanceId: string;
  entity: string;
}

export interface LockRequest {
  exclusive: boolean;
  tag: string;
  description: string;
  durationMs: number;
  /** LOCK_FLAG_MAY_RENEW: our own entry is replaced (new expiry) instead of EEXIST. */
  renew: boolean;
}

const busy = (pool: string, oid: string, name: string, why: string) =>
  new HostError('ERR_LOCK_BUSY', 'EBUSY', `lock '${name}' on ${pool}/${oid} ${why}: (16) Device or resource busy`);

const notHeld = (pool: string, oid: string, name: string, who: string) =>
  new HostError('ERR_LOCK_NOT_FOUND', 'ENOENT', `lock '${name}' on ${pool}/${oid} is not held by ${who}: (2) No such file or directory`);

export class LockOps {
  private readonly s: {
    prune: Database.Statement<[number, string, number]>;
    list: Database.Statement<[number, string], LockRow>;
    insert: Database.Statement<[number, string, string, string, string, number, string, string, number]>;
    remove: Database.Statement<[number, string, string, string]>;
  };

  constructor(db: Db, private readonly ops: ObjectOps) {
    this.s = {
      prune: db.prepare('DELETE FROM locks WHERE obj_id = ? AND name = ? AND expires_at != 0 AND expires_at <= ?'),
      list: db.prepare(
        'SELECT instance_id, cookie, entity, exclusive, tag, description, expires_at FROM locks ' +
          'WHERE obj_id = ? AND name = ? ORDER BY instance_id, cookie',
      ),
      insert: db.prepare(
        'INSERT INTO locks (obj_id, name, instance_id, cookie, entity, exclusive, tag, description, expires_at) ' +
          'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      remove: db.prepare('DELETE FROM locks WHERE obj_id = ? AND name = ? AND instance_id = ? AND cookie = ?'),
    };
  }

  lock(pool: PoolRef, oid: string, name: string, cookie: string, who: Locker, req: LockRequest, now: number): void {
    this.ops.requirePool(pool);
    const row = this.ops.find(pool, oid) ?? this.ops.create(pool, oid, now);
    this.s.prune.run(row.id, name, now);
    const lockers = this.s.list.all(row.id, name);
    const first = lockers[0];
    // The order of checks is cls_lock's: tag, then our own entry, then the lock type.
    if (first && first.tag !== req.tag) throw busy(pool.name, oid, name, `is held with tag '${first.tag}'`);
    const mine = lockers.findIndex((l) => l.instance_id === who.instanceId && l.cookie === cookie);
    if (mine >= 0 && req.renew) {
      this.s.remove.run(row.id, name, who.instanceId, cookie);
      lockers.splice(mine, 1);
    } else if (mine >= 0) {
      throw new HostError(
        'ERR_LOCK_EXISTS', 'EEXIST',
        `lock '${name}' on ${pool.name}/${oid} is already held by client.${who.instanceId} cookie '${cookie}': (17) File exists`,
      );
    }
    const holder = lockers[0];
    if (holder && (req.exclusive || holder.exclusive === 1)) {
      throw busy(pool.name, oid, name, `is held ${holder.exclusive === 1 ? 'exclusively' : 'shared'} by client.${holder.instance_id}`);
    }
    const expiresAt = req.durationMs > 0 ? now + req.durationMs : 0;
    this.s.insert.run(row.id, name, who.instanceId, cookie, who.entity, req.exclusive ? 1 : 0, req.tag, req.description, expiresAt);
    this.ops.commit(pool, row, now);
  }

  /** Drops the locker (instanceId, cookie); ENOENT (`ERR_LOCK_NOT_FOUND`) if it holds nothing. */
  unlock(pool: PoolRef, oid: string, name: string, instanceId: string, cookie: string, now: number): void {
    this.ops.requirePool(pool);
    const who = `client.${instanceId} cookie '${cookie}'`;
    const row = this.ops.find(pool, oid);
    if (!row) throw notHeld(pool.name, oid, name, who);
    this.s.prune.run(row.id, name, now);
    if (this.s.remove.run(row.id, name, instanceId, cookie).changes === 0) throw notHeld(pool.name, oid, name, who);
    this.ops.commit(pool, row, now);
  }

  info(pool: PoolRef, oid: string, name: string, now: number): LockInfo {
    this.ops.requirePool(pool);
    const row = this.ops.get(pool, oid);
    // A read: expired lockers are hidden here and deleted by the next write to the lock.
    const live = this.s.list.all(row.id, name).filter((l) => l.expires_at === 0 || l.expires_at > now);
    const lockers: LockerInfo[] = live.map((l) => ({
      instanceId: l.instance_id,
      entity: l.entity,
      cookie: l.cookie,
      description: l.description,
      expiresAt: l.expires_at,
    }));
    return { exclusive: live[0]?.exclusive === 1, tag: live[0]?.tag ?? '', lockers };
  }
}
