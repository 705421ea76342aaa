/**
 * The image header `rbd_header.<id>`: one omap key per field, cls_rbd's key names, values as
 * UTF-8 decimal text (or the prefix string) so `rados listomapvals` is readable. The header
 * is also the object clients watch and the one that carries the exclusive lock.
 */
import { errno, type Guard, type IoCtx } from '../../host/index.js';
import { headerObjectName } from './image-directory.js';
import { isErrno } from './rbd-errors.js';

export interface HeaderFields {
  size: number;
  order: number;
  features: number;
  objectPrefix: string;
  /** Absent when the data objects live in the image's own pool. */
  dataPoolId?: number;
  opFeatures: number;
  flags: number;
  /** ms since the epoch. */
  createTimestamp: number;
  accessTimestamp: number;
  modifyTimestamp: number;
}

const KEY = {
  size: 'size',
  order: 'order',
  features: 'features',
  objectPrefix: 'object_prefix',
  dataPoolId: 'data_pool_id',
  opFeatures: 'op_features',
  flags: 'flags',
  createTimestamp: 'create_timestamp',
  accessTimestamp: 'access_timestamp',
  modifyTimestamp: 'modify_timestamp',
} as const satisfies Record<keyof HeaderFields, string>;

type Field = keyof HeaderFields;
const FIELDS = Object.keys(KEY) as Field[];

function encode(fields: Partial<HeaderFields>): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const f of FIELDS) {
    const v = fields[f];
    if (v !== undefined) out.set(KEY[f], Buffer.from(String(v)));
  }
  return out;
}

/** The bytes a field is stored as, for `cmp_omap` guards. */
export function encodeField<F extends Field>(field: F, value: NonNullable<HeaderFields[F]>): { key: string; value: Buffer } {
  return { key: KEY[field], value: Buffer.from(String(value)) };
}

/** Writes a new header; EEXIST if one is there (ids are random, so that means a clash). */
export async function createHeader(ioctx: IoCtx, id: string, fields: HeaderFields): Promise<void> {
  await ioctx.operate(headerObjectName(id), {
    guards: [{ op: 'assert_not_exists' }],
    steps: [{ op: 'omap_set', entries: encode(fields) }],
  });
}

/** @returns undefined when the header object does not exist. */
export async function readHeader(ioctx: IoCtx, id: string): Promise<HeaderFields | undefined> {
  let vals: Map<string, Buffer>;
  try {
    vals = await ioctx.omapGetValsByKeys(headerObjectName(id), FIELDS.map((f) => KEY[f]));
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return undefined;
    throw e;
  }
  const num = (f: Field, required: boolean): number | undefined => {
    const raw = vals.get(KEY[f])?.toString();
    if (raw === undefined) {
      if (required) throw corrupt(id, `missing ${KEY[f]}`);
      return undefined;
    }
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n)) throw corrupt(id, `bad ${KEY[f]} '${raw}'`);
    return n;
  };
  const objectPrefix = vals.get(KEY.objectPrefix)?.toString();
  if (objectPrefix === undefined) {
    // A header that exists but holds no size yet is one being created or removed.
    if (vals.size === 0) return undefined;
    throw corrupt(id, 'missing object_prefix');
  }
  const dataPoolId = num('dataPoolId', false);
  return {
    size: num('size', true)!,
    order: num('order', true)!,
    features: num('features', true)!,
    objectPrefix,
    ...(dataPoolId !== undefined ? { dataPoolId } : {}),
    opFeatures: num('opFeatures', false) ?? 0,
    flags: num('flags', false) ?? 0,
    createTimestamp: num('createTimestamp', false) ?? 0,
    accessTimestamp: num('accessTimestamp', false) ?? 0,
    modifyTimestamp: num('modifyTimestamp', false) ?? 0,
  };
}

/** Sets fields atomically, only if the header exists and every guard holds (else ECANCELED). */
export async function updateHeader(ioctx: IoCtx, id: string, fields: Partial<HeaderFields>, guards: Guard[] = []): Promise<void> {
  await ioctx.operate(headerObjectName(id), {
    guards: [{ op: 'assert_exists' }, ...guards],
    steps: [{ op: 'omap_set', entries: encode(fields) }],
  });
}

function corrupt(id: string, why: string) {
  return errno('EIO', 'ERR_RBD_HEADER_CORRUPT', `image header rbd_header.${id} is corrupt: ${why}`);
}
