/**
 * Input checks run before an operation is queued, so bad input never reaches the store
 * (and never changes it), plus the error values the object layer shares.
 */
import { err, HostError } from '../../errors.js';
import { MAX_OBJECT_SIZE, MAX_WRITE_SIZE, type Guard, type ReadOp, type WriteOp } from '../store.js';

/** Ceph's osd_max_object_name_len. */
const MAX_OID_BYTES = 2048;
const MAX_XATTR_NAME_BYTES = 255;
const CMP_OPS = new Set(['eq', 'ne', 'gt', 'gte', 'lt', 'lte']);

const invalid = (msg: string): HostError => err('ERR_INVALID_ARGUMENT', `${msg}: (22) Invalid argument`);

export function objectNotFound(pool: string, oid: string): HostError {
  return err('ERR_OBJECT_NOT_FOUND', `object ${pool}/${oid}: (2) No such file or directory`);
}

export function poolNotFound(name: string): HostError {
  return err('ERR_POOL_NOT_FOUND', `error opening pool '${name}': (2) No such file or directory`);
}

export function tooLarge(what: string): HostError {
  return new HostError('ERR_OBJECT_TOO_LARGE', 'EFBIG', `${what}: (27) File too large`);
}

/** Strings must survive UTF-8 (no lone surrogates): names and keys are stored as bytes. */
export function isText(s: unknown): s is string {
  return typeof s === 'string' && (s as unknown as { isWellFormed(): boolean }).isWellFormed();
}

export function validatePoolName(name: unknown): asserts name is string {
  if (!isText(name) || name === '' || name.includes('/') || name.includes('\0') || Buffer.byteLength(name) > 255) {
    throw invalid(`invalid pool name '${String(name)}' (non-empty, at most 255 bytes, no '/' or NUL)`);
  }
}

export function validateOid(oid: unknown): asserts oid is string {
  if (!isText(oid) || oid === '' || Buffer.byteLength(oid) > MAX_OID_BYTES) {
    throw invalid(`invalid object name '${String(oid)}' (non-empty UTF-8, at most ${MAX_OID_BYTES} bytes)`);
  }
}

function validateName(kind: string, name: unknown, max = Infinity): void {
  if (!isText(name) || name === '' || Buffer.byteLength(name) > max) throw invalid(`invalid ${kind} '${String(name)}'`);
}

export function validateText(what: string, v: unknown): asserts v is string {
  if (!isText(v)) throw invalid(`${what} must be a well-formed string, got ${String(v)}`);
}

function validateKey(key: unknown): void {
  if (!isText(key)) throw invalid(`invalid omap key '${String(key)}' (must be well-formed UTF-8)`);
}

function validateBytes(what: string, v: unknown): asserts v is Uint8Array {
  if (!(v instanceof Uint8Array)) throw invalid(`${what} must be bytes (Uint8Array or Buffer)`);
}

export function validateCount(what: string, n: unknown, max = Number.MAX_SAFE_INTEGER): asserts n is number {
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0 || n > max) {
    throw invalid(`${what} must be a non-negative integer, got ${String(n)}`);
  }
}

/** Offset + length against osd_max_object_size, as the OSD's check_offset_and_length. */
function checkExtent(offset: number, length: number): void {
  if (offset + length > MAX_OBJECT_SIZE) tooLargeExtent(offset, length);
}

function tooLargeExtent(offset: number, length: number): never {
  throw tooLarge(`extent ${offset}~${length} exceeds the object size limit of ${MAX_OBJECT_SIZE} bytes`);
}

function validateGuards(guards: Guard[] | undefined): void {
  if (guards === undefined) return;
  if (!Array.isArray(guards)) throw invalid('guards must be an array');
  for (const g of guards) {
    switch (g?.op) {
      case 'assert_exists':
      case 'assert_not_exists':
        break;
      case 'assert_version':
        validateCount('assert_version version', g.version);
        break;
      case 'cmp_xattr':
      case 'cmp_omap':
        if (g.op === 'cmp_xattr') validateName('xattr name', g.name, MAX_XATTR_NAME_BYTES);
        else validateKey(g.key);
        if (!CMP_OPS.has(g.cmp)) throw invalid(`unknown comparison '${String(g.cmp)}'`);
        validateBytes(`${g.op} value`, g.value);
        break;
      default:
        throw invalid(`unknown guard '${String((g as { op?: unknown })?.op)}'`);
    }
  }
}

/** Checks every step; returns the bytes the op carries (for batching). */
export function validateWriteOp(op: WriteOp): number {
  if (typeof op !== 'object' || op === null || !Array.isArray(op.steps)) throw invalid('write op needs a steps array');
  validateGuards(op.guards);
  let bytes = 0;
  for (const s of op.steps) {
    switch (s?.op) {
      case 'create':
        if (typeof s.exclusive !== 'boolean') throw invalid('create.exclusive must be a boolean');
        break;
      case 'write':
        validateBytes('write data', s.data);
        validateCount('write offset', s.offset);
        checkExtent(s.offset, s.data.length);
        bytes += s.data.length;
        break;
      case 'write_full':
      case 'append':
        validateBytes(`${s.op} data`, s.data);
        checkExtent(0, s.data.length);
        bytes += s.data.length;
        break;
      case 'truncate':
        validateCount('truncate size', s.size);
        checkExtent(s.size, 0);
        break;
      case 'zero':
        validateCount('zero offset', s.offset);
        validateCount('zero length', s.length);
        checkExtent(s.offset, s.length);
        break;
      case 'remove':
      case 'omap_clear':
        break;
      case 'setxattr':
        validateName('xattr name', s.name, MAX_XATTR_NAME_BYTES);
        validateBytes('xattr value', s.value);
        bytes += s.value.length;
        break;
      case 'rmxattr':
        validateName('xattr name', s.name, MAX_XATTR_NAME_BYTES);
        break;
      case 'omap_set':
        if (!(s.entries instanceof Map)) throw invalid('omap_set entries must be a Map');
        for (const [k, v] of s.entries) {
          validateKey(k);
          validateBytes(`omap value of '${k}'`, v);
          bytes += Buffer.byteLength(k) + v.length;
        }
        break;
      case 'omap_rm':
        if (!Array.isArray(s.keys)) throw invalid('omap_rm keys must be an array');
        s.keys.forEach(validateKey);
        break;
      default:
        throw invalid(`unknown write step '${String((s as { op?: unknown })?.op)}'`);
    }
  }
  // osd_max_write_size bounds the whole message, not each step.
  if (bytes > MAX_WRITE_SIZE) throw tooLarge(`write of ${bytes} bytes exceeds the limit of ${MAX_WRITE_SIZE} bytes`);
  return bytes;
}

export function validateReadOp(op: ReadOp): void {
  if (typeof op !== 'object' || op === null || !Array.isArray(op.steps)) throw invalid('read op needs a steps array');
  validateGuards(op.guards);
  for (const s of op.steps) {
    switch (s?.op) {
      case 'read':
        validateCount('read offset', s.offset);
        validateCount('read length', s.length);
        break;
      case 'stat':
      case 'getxattrs':
        break;
      case 'getxattr':
        validateName('xattr name', s.name, MAX_XATTR_NAME_BYTES);
        break;
      case 'omap_get_vals':
        if (s.after !== undefined) validateKey(s.after);
        if (s.prefix !== undefined) validateKey(s.prefix);
        if (s.max !== undefined) validateCount('omap max', s.max);
        break;
      case 'omap_get_vals_by_keys':
        if (!Array.isArray(s.keys)) throw invalid('omap keys must be an array');
        s.keys.forEach(validateKey);
        break;
      default:
        throw invalid(`unknown read step '${String((s as { op?: unknown })?.op)}'`);
    }
  }
}

/** Views any Uint8Array as a Buffer without copying. */
export function asBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}
