/**
 * The read half of compound operations, omap range scans, and object listing.
 *
 * omap keys are stored as UTF-8 BLOBs, so SQLite's memcmp order is the bytewise order the
 * contract promises (JS string order would differ above U+FFFF).
 */
import type Database from 'better-sqlite3';
import { HostError } from '../../errors.js';
import type { OmapPage, ReadOp, ReadResult } from '../store.js';
import { checkGuards } from './guards.js';
import type { ObjectOps, ObjRow, PoolRef } from './object-ops.js';
import type { Db } from './sqlite-schema.js';
import { objectNotFound } from './validate.js';

/** Smallest byte string greater than every string starting with `prefix`; null if none. */
function prefixEnd(prefix: Buffer): Buffer | null {
  let n = prefix.length;
  while (n > 0 && prefix[n - 1] === 0xff) n--;
  if (n === 0) return null;
  const end = Buffer.from(prefix.subarray(0, n));
  end[n - 1]! += 1;
  return end;
}

const LIST_PAGE = 1000;

type KV = { key: Buffer; value: Buffer };

export class ObjectReads {
  private readonly scans = new Map<string, Database.Statement<unknown[], KV>>();
  private readonly xattrAll: Database.Statement<[number], { name: string; value: Buffer }>;
  private readonly omapOne: Database.Statement<[number, Buffer], { value: Buffer }>;
  private readonly names: Database.Statement<[number, string, string], { name: string }>;

  constructor(private readonly db: Db, private readonly ops: ObjectOps) {
    this.xattrAll = db.prepare('SELECT name, value FROM xattrs WHERE obj_id = ? ORDER BY name');
    this.omapOne = db.prepare('SELECT value FROM omap WHERE obj_id = ? AND key = ?');
    this.names = db.prepare(`SELECT name FROM objects WHERE pool_id = ? AND name > ? AND name >= ? ORDER BY name LIMIT ${LIST_PAGE}`);
  }

  /** One statement per shape of bounds, prepared on first use. */
  private scan(lower: 'gt' | 'ge', upper: boolean): Database.Statement<unknown[], KV> {
    const id = `${lower}${upper}`;
    let st = this.scans.get(id);
    if (!st) {
      st = this.db.prepare(
        `SELECT key, value FROM omap WHERE obj_id = ? AND key ${lower === 'gt' ? '>' : '>='} ?` +
          (upper ? ' AND key < ?' : '') + ' ORDER BY key LIMIT ?',
      );
      this.scans.set(id, st);
    }
    return st;
  }

  omapPage(objId: number, opts: { after?: string | undefined; prefix?: string | undefined; max?: number | undefined }): OmapPage {
    const prefix = Buffer.from(opts.prefix ?? '');
    const after = opts.after === undefined ? undefined : Buffer.from(opts.after);
    // Start after `after`, unless the prefix range starts later.
    const useAfter = after !== undefined && Buffer.compare(after, prefix) >= 0;
    const end = prefix.length > 0 ? prefixEnd(prefix) : null;
    const limit = opts.max === undefined ? -1 : opts.max + 1;
    const params: unknown[] = [objId, useAfter ? after : prefix];
    if (end) params.push(end);
    params.push(limit);
    const rows = this.scan(useAfter ? 'gt' : 'ge', end !== null).all(...params);
    const more = opts.max !== undefined && rows.length > opts.max;
    if (more) rows.length = opts.max!;
    return { entries: new Map(rows.map((r) => [r.key.toString('utf8'), r.value])), more };
  }

  omapByKeys(objId: number, keys: readonly string[]): Map<string, Buffer> {
    const out = new Map<string, Buffer>();
    for (const k of keys) {
      const v = this.omapOne.get(objId, Buffer.from(k))?.value;
      if (v !== undefined) out.set(k, v);
    }
    return out;
  }

  xattrs(objId: number): Map<string, Buffer> {
    return new Map(this.xattrAll.all(objId).map((r) => [r.name, r.value]));
  }

  applyRead(pool: PoolRef, oid: string, op: ReadOp): ReadResult[] {
    this.ops.requirePool(pool);
    const row = this.ops.find(pool, oid);
    checkGuards(this.ops, pool.name, oid, row, op.guards);
    const obj = (): ObjRow => {
      if (!row) throw objectNotFound(pool.name, oid);
      return row;
    };
    return op.steps.map((step): ReadResult => {
      switch (step.op) {
        case 'read': {
          const r = obj();
          return { op: 'read', data: this.ops.chunks.read(r.id, r.size, step.offset, step.length) };
        }
        case 'stat': {
          const r = obj();
          return { op: 'stat', stat: { size: r.size, mtime: r.mtime, version: r.version } };
        }
        case 'getxattr': {
          const value = this.ops.xattr(obj().id, step.name);
          if (value === undefined) {
            throw new HostError('ERR_XATTR_NOT_FOUND', 'ENODATA', `object ${pool.name}/${oid} has no xattr '${step.name}': (61) No data available`);
          }
          return { op: 'getxattr', value };
        }
        case 'getxattrs':
          return { op: 'getxattrs', xattrs: this.xattrs(obj().id) };
        case 'omap_get_vals':
          return { op: 'omap_get_vals', ...this.omapPage(obj().id, step) };
        case 'omap_get_vals_by_keys':
          return { op: 'omap_get_vals_by_keys', entries: this.omapByKeys(obj().id, step.keys) };
      }
    });
  }

  /** The next object names after `after` that start with `prefix`, in name order. */
  listPage(pool: PoolRef, after: string, prefix: string): { names: string[]; done: boolean } {
    this.ops.requirePool(pool);
    const rows = this.names.all(pool.id, after, prefix);
    const names: string[] = [];
    for (const { name } of rows) {
      // Names with the prefix are contiguous from `prefix` on, in SQLite's byte order.
      if (!name.startsWith(prefix)) return { names, done: true };
      names.push(name);
    }
    return { names, done: rows.length < LIST_PAGE };
  }
}
