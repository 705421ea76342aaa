/**
 * Guards of a compound operation, checked inside its transaction before any step runs.
 * A comparison passes when `stored <cmp> value` holds, bytewise (the OSD's CMPXATTR order).
 */
import { err } from '../../errors.js';
import type { CmpOp, Guard } from '../store.js';
import { asBuffer, objectNotFound } from './validate.js';

export interface GuardLookup {
  xattr(objId: number, name: string): Buffer | undefined;
  omap(objId: number, key: string): Buffer | undefined;
}

const EMPTY = Buffer.alloc(0);

export function compareBytes(stored: Buffer, cmp: CmpOp, value: Uint8Array): boolean {
  const c = Buffer.compare(stored, asBuffer(value));
  switch (cmp) {
    case 'eq': return c === 0;
    case 'ne': return c !== 0;
    case 'gt': return c > 0;
    case 'gte': return c >= 0;
    case 'lt': return c < 0;
    case 'lte': return c <= 0;
  }
}

function failed(pool: string, oid: string, what: string) {
  return err('ERR_GUARD_FAILED', `object ${pool}/${oid}: ${what} failed: (125) Operation canceled`);
}

/** Throws the first failing guard's error: ENOENT, EEXIST or ECANCELED (`ERR_GUARD_FAILED`). */
export function checkGuards(
  look: GuardLookup,
  pool: string,
  oid: string,
  obj: { id: number; version: number } | undefined,
  guards: readonly Guard[] | undefined,
): void {
  for (const g of guards ?? []) {
    switch (g.op) {
      case 'assert_exists':
        if (!obj) throw objectNotFound(pool, oid);
        break;
      case 'assert_not_exists':
        if (obj) throw err('ERR_OBJECT_EXISTS', `object ${pool}/${oid} exists: (17) File exists`);
        break;
      case 'assert_version':
        if (!obj || obj.version !== g.version) {
          throw failed(pool, oid, `assert_version ${g.version} (object at ${obj ? obj.version : 'none'})`);
        }
        break;
      case 'cmp_xattr': {
        // A missing object has no xattrs: it compares as empty, like a missing xattr.
        const stored = (obj && look.xattr(obj.id, g.name)) ?? EMPTY;
        if (!compareBytes(stored, g.cmp, g.value)) throw failed(pool, oid, `cmp_xattr ${g.name} ${g.cmp}`);
        break;
      }
      case 'cmp_omap': {
        if (!obj) throw objectNotFound(pool, oid);
        const stored = look.omap(obj.id, g.key);
        if (stored === undefined || !compareBytes(stored, g.cmp, g.value)) {
          throw failed(pool, oid, `cmp_omap ${g.key} ${g.cmp}${stored === undefined ? ' (no such key)' : ''}`);
        }
        break;
      }
    }
  }
}
