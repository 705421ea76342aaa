/**
 * Objects in SQLite: rows, versions, and the write half of compound operations. Everything
 * here runs synchronously inside a transaction opened by the Committer, so a step that
 * throws leaves nothing behind.
 */
import type Database from 'better-sqlite3';
import { HostError } from '../../errors.js';
import { MAX_OBJECT_SIZE, type WriteOp } from '../store.js';
import type { ChunkStore } from './chunk-data.js';
import { checkGuards, type GuardLookup } from './guards.js';
import type { Db } from './sqlite-schema.js';
import { asBuffer, objectNotFound, poolNotFound, tooLarge } from './validate.js';

export interface PoolRef {
  readonly id: number;
  readonly name: string;
}

export interface ObjRow {
  id: number;
  size: number;
  version: number;
  mtime: number;
}

/** A watch that lost its object; its client is told after the transaction commits. */
export interface WatcherRow {
  instance_id: string;
  cookie: string;
  endpoint: string;
}

export interface WriteEffects {
  disconnected: WatcherRow[];
}

type S<P extends unknown[], R = unknown> = Database.Statement<P, R>;

export class ObjectOps implements GuardLookup {
  private readonly s: {
    pool: S<[number], PoolRef>;
    lastVersion: S<[number], { last_version: number }>;
    setVersion: S<[number, number]>;
    find: S<[number, string], ObjRow>;
    insert: S<[number, string, number]>;
    update: S<[number, number, number, number]>;
    del: S<[number]>;
    xattrGet: S<[number, string], { value: Buffer }>;
    xattrPut: S<[number, string, Buffer]>;
    xattrDel: S<[number, string]>;
    xattrClear: S<[number]>;
    omapGet: S<[number, Buffer], { value: Buffer }>;
    omapPut: S<[number, Buffer, Buffer]>;
    omapDel: S<[number, Buffer]>;
    omapClear: S<[number]>;
    locksClear: S<[number]>;
    watchersOf: S<[number], WatcherRow>;
    watchersClear: S<[number]>;
  };

  constructor(db: Db, readonly chunks: ChunkStore) {
    this.s = {
      pool: db.prepare('SELECT id, name FROM pools WHERE id = ?'),
      lastVersion: db.prepare('SELECT last_version FROM pools WHERE id = ?'),
      setVersion: db.prepare('UPDATE pools SET last_version = ? WHERE id = ?'),
      find: db.prepare('SELECT id, size, version, mtime FROM objects WHERE pool_id = ? AND name = ?'),
      insert: db.prepare('INSERT INTO objects (pool_id, name, size, version, mtime) VALUES (?, ?, 0, 0, ?)'),
      update: db.prepare('UPDATE objects SET size = ?, version = ?, mtime = ? WHERE id = ?'),
      del: db.prepare('DELETE FROM objects WHERE id = ?'),
      xattrGet: db.prepare('SELECT value FROM xattrs WHERE obj_id = ? AND name = ?'),
      xattrPut: db.prepare('INSERT OR REPLACE INTO xattrs (obj_id, name, value) VALUES (?, ?, ?)'),
      xattrDel: db.prepare('DELETE FROM xattrs WHERE obj_id = ? AND name = ?'),
      xattrClear: db.prepare('DELETE FROM xattrs WHERE obj_id = ?'),
      omapGet: db.prepare('SELECT value FROM omap WHERE obj_id = ? AND key = ?'),
      omapPut: db.prepare('INSERT OR REPLACE INTO omap (obj_id, key, value) VALUES (?, ?, ?)'),
      omapDel: db.prepare('DELETE FROM omap WHERE obj_id = ? AND key = ?'),
      omapClear: db.prepare('DELETE FROM omap WHERE obj_id = ?'),
      locksClear: db.prepare('DELETE FROM locks WHERE obj_id = ?'),
      watchersOf: db.prepare('SELECT instance_id, cookie, endpoint FROM watchers WHERE obj_id = ?'),
      watchersClear: db.prepare('DELETE FROM watchers WHERE obj_id = ?'),
    };
  }

  /**
   * Per transaction (the Committer's hooks): pools known to exist, and each pool's version
   * counter, read once and written back before COMMIT, instead of a statement each per op.
   */
  private readonly tx = { pools: new Set<number>(), versions: new Map<number, number>() };

  beginTransaction(): void {
    this.tx.pools.clear();
    this.tx.versions.clear();
  }

  beforeCommit(): void {
    for (const [pool, v] of this.tx.versions) this.s.setVersion.run(v, pool);
    this.tx.versions.clear();
  }

  /** After a rolled-back op or a pool deletion: existence is checked again. */
  forgetPools(): void {
    this.tx.pools.clear();
  }

  /** The pool, if it still exists: an ioctx outlives a `deletePool` of its pool. */
  requirePool(pool: PoolRef): void {
    if (this.tx.pools.has(pool.id)) return;
    if (this.s.pool.get(pool.id) === undefined) throw poolNotFound(pool.name);
    this.tx.pools.add(pool.id);
  }

  find(pool: PoolRef, oid: string): ObjRow | undefined {
    return this.s.find.get(pool.id, oid);
  }

  /** Like `find`, with ENOENT (`ERR_OBJECT_NOT_FOUND`) for a missing object. */
  get(pool: PoolRef, oid: string): ObjRow {
    const row = this.find(pool, oid);
    if (!row) throw objectNotFound(pool.name, oid);
    return row;
  }

  create(pool: PoolRef, oid: string, now: number): ObjRow {
    const id = Number(this.s.insert.run(pool.id, oid, now).lastInsertRowid);
    return { id, size: 0, version: 0, mtime: now };
  }

  /** Records a successful write: a new version from the pool's counter (never reused, even
   *  across delete and re-create, like a PG's user_version), the size, the mtime. */
  commit(pool: PoolRef, row: ObjRow, now: number): void {
    // A version taken by an op that then rolls back is skipped, never reused.
    const v = (this.tx.versions.get(pool.id) ?? this.s.lastVersion.get(pool.id)?.last_version ?? 0) + 1;
    this.tx.versions.set(pool.id, v);
    row.version = v;
    row.mtime = now;
    this.s.update.run(row.size, row.version, now, row.id);
  }

  /** Deletes the object and everything hanging off it; returns its watchers. */
  destroy(row: ObjRow): WatcherRow[] {
    const watchers = this.s.watchersOf.all(row.id);
    this.chunks.removeAll(row.id);
    this.s.xattrClear.run(row.id);
    this.s.omapClear.run(row.id);
    this.s.locksClear.run(row.id);
    this.s.watchersClear.run(row.id);
    this.s.del.run(row.id);
    return watchers;
  }

  xattr(objId: number, name: string): Buffer | undefined {
    return this.s.xattrGet.get(objId, name)?.value;
  }

  omap(objId: number, key: string): Buffer | undefined {
    return this.s.omapGet.get(objId, Buffer.from(key))?.value;
  }

  /** Applies a compound write: guards, then each step in order, then one version bump. */
  applyWrite(pool: PoolRef, oid: string, op: WriteOp, now: number): WriteEffects {
    this.requirePool(pool);
    let row = this.find(pool, oid);
    checkGuards(this, pool.name, oid, row, op.guards);
    const effects: WriteEffects = { disconnected: [] };
    const ensure = (): ObjRow => (row ??= this.create(pool, oid, now));
    const existing = (): ObjRow => {
      if (!row) throw objectNotFound(pool.name, oid);
      return row;
    };
    for (const step of op.steps) {
      switch (step.op) {
        case 'create':
          if (row && step.exclusive) {
            throw new HostError('ERR_OBJECT_EXISTS', 'EEXIST', `object ${pool.name}/${oid} exists: (17) File exists`);
          }
          ensure();
          break;
        case 'write': {
          const r = ensure();
          this.chunks.write(r.id, r.size, step.offset, asBuffer(step.data));
          if (step.data.length > 0) r.size = Math.max(r.size, step.offset + step.data.length);
          break;
        }
        case 'write_full': {
          const r = ensure();
          this.chunks.truncate(r.id, r.size, step.data.length);
          r.size = step.data.length;
          this.chunks.write(r.id, r.size, 0, asBuffer(step.data));
          break;
        }
        case 'append': {
          const r = ensure();
          if (r.size + step.data.length > MAX_OBJECT_SIZE) {
            throw tooLarge(`append of ${step.data.length} bytes to ${pool.name}/${oid} (size ${r.size}) exceeds ${MAX_OBJECT_SIZE} bytes`);
          }
          this.chunks.write(r.id, r.size, r.size, asBuffer(step.data));
          r.size += step.data.length;
          break;
        }
        case 'truncate':
          // As the OSD: truncating a missing object is a no-op and does not create it.
          if (row) {
            this.chunks.truncate(row.id, row.size, step.size);
            row.size = step.size;
          }
          break;
        case 'zero':
          if (row) this.chunks.zero(row.id, row.size, step.offset, step.length);
          break;
        case 'remove':
          effects.disconnected.push(...this.destroy(existing()));
          row = undefined;
          break;
        case 'setxattr':
          this.s.xattrPut.run(ensure().id, step.name, asBuffer(step.value));
          break;
        case 'rmxattr':
          this.s.xattrDel.run(existing().id, step.name);
          break;
        case 'omap_set': {
          const id = ensure().id;
          for (const [k, v] of step.entries) this.s.omapPut.run(id, Buffer.from(k), asBuffer(v));
          break;
        }
        case 'omap_rm': {
          const id = existing().id;
          for (const k of step.keys) this.s.omapDel.run(id, Buffer.from(k));
          break;
        }
        case 'omap_clear':
          this.s.omapClear.run(existing().id);
          break;
      }
    }
    if (row && op.steps.length > 0) this.commit(pool, row, now);
    return effects;
  }
}
