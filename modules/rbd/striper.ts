/**
 * Maps image byte ranges onto data objects: with stripe unit = object size and stripe
 * count 1 (the only layout rbdm makes, as librbd without the striping feature), image byte
 * `x` lives in object `floor(x / objectSize)` at offset `x % objectSize`.
 * Object names are `<block_name_prefix>.<object number as 16 hex digits>`.
 */

export interface ObjectExtent {
  objectNo: number;
  /** Offset inside the object. */
  offset: number;
  length: number;
  /** Where this piece sits in the caller's buffer. */
  bufferOffset: number;
}

export function mapExtents(offset: number, length: number, objectSize: number): ObjectExtent[] {
  const out: ObjectExtent[] = [];
  let pos = offset;
  const end = offset + length;
  while (pos < end) {
    const objectNo = Math.floor(pos / objectSize);
    const inObject = pos - objectNo * objectSize;
    const len = Math.min(objectSize - inObject, end - pos);
    out.push({ objectNo, offset: inObject, length: len, bufferOffset: pos - offset });
    pos += len;
  }
  return out;
}

export function dataObjectName(prefix: string, objectNo: number): string {
  return `${prefix}.${objectNo.toString(16).padStart(16, '0')}`;
}

/** The object number of a data object name, or undefined if it is not one of `prefix`. */
export function parseObjectNo(prefix: string, oid: string): number | undefined {
  if (!oid.startsWith(`${prefix}.`)) return undefined;
  const hex = oid.slice(prefix.length + 1);
  if (!/^[0-9a-f]{16}$/.test(hex)) return undefined;
  return Number.parseInt(hex, 16);
}

export function numObjects(size: number, objectSize: number): number {
  return Math.ceil(size / objectSize);
}
