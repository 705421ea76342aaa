/**
 * The Store's WriteOp/ReadOp as librados compound ops, and the guards librados does not
 * express the contract's way (see README.md "Differences"): those are evaluated on a
 * snapshot read, and the write then runs under `assert_version` of that snapshot (retried
 * if the object changed in between), which keeps the op atomic.
 */
import { err } from '../../errors.js';
import { MAX_OBJECT_SIZE, type CmpOp, type Guard, type ReadResult, type ReadStep, type WriteStep } from '../store.js';
import { compareBytes } from '../embedded/guards.js';
import { objectNotFound } from '../embedded/validate.js';
import type { ReadStep as NReadStep, WriteStep as NWriteStep, CmpCode } from 'ceph-napi';

const CMP: Record<CmpOp, CmpCode> = { eq: 1, ne: 2, gt: 3, gte: 4, lt: 5, lte: 6 };
/** The OSD's CMPXATTR evaluates `operand <cmp> stored`; the contract says `stored <cmp> operand`. */
const XATTR_CMP: Record<CmpOp, CmpCode> = { eq: 1, ne: 2, gt: 5, gte: 6, lt: 3, lte: 4 };

export function nativeWriteStep(s: WriteStep): NWriteStep {
  switch (s.op) {
    case 'omap_set':
      return { op: 'omap_set', keys: [...s.entries.keys()], values: [...s.entries.values()] };
    default:
      return s as NWriteStep;
  }
}

/** Steps that create a missing object. */
export function creates(s: WriteStep): boolean {
  return s.op === 'create' || s.op === 'write' || s.op === 'write_full' || s.op === 'append' || s.op === 'setxattr' || s.op === 'omap_set';
}

/** A guard as a native step, or null when librados' semantics differ from the contract. */
export function nativeGuard(g: Guard): NWriteStep | null {
  switch (g.op) {
    case 'assert_exists':
      return { op: 'assert_exists' };
    case 'assert_version':
      // The OSD refuses version 0 (EINVAL); the contract says it never matches.
      return g.version > 0 ? { op: 'assert_version', version: g.version } : null;
    case 'cmp_xattr':
      return { op: 'cmpxattr', name: g.name, cmp: XATTR_CMP[g.cmp], value: g.value };
    case 'cmp_omap':
      // The OSD compares a missing key as empty and knows only eq/lt/gt: native only where
      // that gives the contract's answer (a missing key fails).
      if (g.cmp === 'gt' || (g.cmp === 'eq' && g.value.length > 0)) return { op: 'omap_cmp', key: g.key, cmp: CMP[g.cmp], value: g.value };
      return null;
    case 'assert_not_exists':
      return null;
  }
}

/** What guards need from a snapshot of the object. */
export interface Snapshot {
  exists: boolean;
  size: number;
  version: number;
  xattrs: Map<string, Buffer>;
  omap: Map<string, Buffer>;
}

export function snapshotSteps(guards: readonly Guard[]): NReadStep[] {
  const steps: NReadStep[] = [{ op: 'stat' }];
  if (guards.some((g) => g.op === 'cmp_xattr')) steps.push({ op: 'getxattrs' });
  const keys = guards.flatMap((g) => (g.op === 'cmp_omap' ? [g.key] : []));
  if (keys.length > 0) steps.push({ op: 'omap_get_vals_by_keys', keys });
  return steps;
}

const EMPTY = Buffer.alloc(0);

function failed(pool: string, oid: string, what: string) {
  return err('ERR_GUARD_FAILED', `object ${pool}/${oid}: ${what} failed: (125) Operation canceled`);
}

/** The contract's guard semantics (embedded/guards.ts), on a snapshot. Throws the first failure. */
export function checkGuards(pool: string, oid: string, snap: Snapshot, guards: readonly Guard[]): void {
  for (const g of guards) {
    switch (g.op) {
      case 'assert_exists':
        if (!snap.exists) throw objectNotFound(pool, oid);
        break;
      case 'assert_not_exists':
        if (snap.exists) throw err('ERR_OBJECT_EXISTS', `object ${pool}/${oid} exists: (17) File exists`);
        break;
      case 'assert_version':
        if (!snap.exists || snap.version !== g.version) {
          throw failed(pool, oid, `assert_version ${g.version} (object at ${snap.exists ? snap.version : 'none'})`);
        }
        break;
      case 'cmp_xattr':
        if (!compareBytes(snap.xattrs.get(g.name) ?? EMPTY, g.cmp, g.value)) throw failed(pool, oid, `cmp_xattr ${g.name} ${g.cmp}`);
        break;
      case 'cmp_omap': {
        if (!snap.exists) throw objectNotFound(pool, oid);
        const v = snap.omap.get(g.key);
        if (v === undefined || !compareBytes(v, g.cmp, g.value)) {
          throw failed(pool, oid, `cmp_omap ${g.key} ${g.cmp}${v === undefined ? ' (no such key)' : ''}`);
        }
        break;
      }
    }
  }
}

const ZERO_BYTE = Buffer.alloc(1);

/** Native steps that grow a (possibly missing) object to exactly `n` bytes of zeros past its end. */
function extendTo(n: number): NWriteStep[] {
  // The OSD refuses a truncate to osd_max_object_size itself (offset >= max → EFBIG), but
  // an object may be exactly that size: reach it with a one-byte write.
  return n < MAX_OBJECT_SIZE ? [{ op: 'truncate', size: n }] : [{ op: 'truncate', size: n - 1 }, { op: 'write', offset: n - 1, data: ZERO_BYTE }];
}

/** Steps whose RADOS effect depends on the object size (see rewriteForSize). */
export function sizeDependent(s: WriteStep): boolean {
  return (s.op === 'zero' && s.length > 0) || (s.op === 'truncate' && s.size >= MAX_OBJECT_SIZE);
}

/**
 * Rewrites size-dependent steps for an object that starts as `snap`: RADOS turns a zero
 * reaching the end into a truncate (the object shrinks; the contract keeps its size), and
 * refuses a truncate to exactly the size limit.
 */
export function rewriteForSize(steps: readonly WriteStep[], snap: { exists: boolean; size: number }): NWriteStep[] {
  let exists = snap.exists;
  let size = snap.exists ? snap.size : 0;
  const out: NWriteStep[] = [];
  for (const s of steps) {
    switch (s.op) {
      case 'write':
        if (s.data.length > 0) size = Math.max(size, s.offset + s.data.length);
        exists = true;
        out.push(nativeWriteStep(s));
        break;
      case 'write_full':
        size = s.data.length;
        exists = true;
        out.push(nativeWriteStep(s));
        break;
      case 'append':
        size += s.data.length;
        exists = true;
        out.push(nativeWriteStep(s));
        break;
      case 'truncate':
        if (exists) {
          if (s.size >= MAX_OBJECT_SIZE) {
            if (size < s.size) out.push({ op: 'truncate', size: Math.min(size, s.size - 1) }, ...extendTo(s.size));
          } else {
            out.push(nativeWriteStep(s));
          }
          size = s.size;
        }
        break;
      case 'zero':
        if (exists && s.length > 0 && s.offset < size) {
          if (s.offset + s.length >= size) out.push({ op: 'truncate', size: s.offset }, ...extendTo(size));
          else out.push(nativeWriteStep(s));
        }
        break;
      case 'remove':
        exists = false;
        size = 0;
        out.push(nativeWriteStep(s));
        break;
      default:
        if (creates(s)) exists = true;
        out.push(nativeWriteStep(s));
    }
  }
  return out;
}

/** Page size for an omap_get_vals step without `max` (then paged to the end). */
export const OMAP_PAGE = 65536;

/** A read step as native steps (getxattr reads them all: the C API has no single getxattr). */
export function nativeReadStep(s: ReadStep): NReadStep {
  switch (s.op) {
    case 'read':
      return { op: 'read', offset: s.offset, length: s.length };
    case 'stat':
      return { op: 'stat' };
    case 'getxattr':
    case 'getxattrs':
      return { op: 'getxattrs' };
    case 'omap_get_vals':
      return { op: 'omap_get_vals', after: s.after, prefix: s.prefix, max: s.max ?? OMAP_PAGE };
    case 'omap_get_vals_by_keys':
      return { op: 'omap_get_vals_by_keys', keys: s.keys };
  }
}

export type { ReadResult };
