/**
 * Names and ids of a pool's images, in Ceph's format-2 objects:
 * - `rbd_directory`: omap `name_<name>` → id and `id_<id>` → name (values are UTF-8);
 * - `rbd_id.<name>`: the image id as the object's data.
 *
 * `rbd_id.<name>` is created exclusively before anything else, so two clients creating the
 * same name cannot both succeed: the store has no multi-object transactions, and this
 * one-object guard is what serialises them.
 */
import { randomBytes } from 'node:crypto';
import { err, type IoCtx } from '../../host/index.js';
import { isErrno } from './rbd-errors.js';

export const DIRECTORY_OID = 'rbd_directory';
export const ID_LENGTH = 12;

export function idObjectName(name: string): string {
  return `rbd_id.${name}`;
}

export function headerObjectName(id: string): string {
  return `rbd_header.${id}`;
}

/** 12 hex characters, as librbd's ids are. */
export function generateImageId(): string {
  return randomBytes(ID_LENGTH / 2).toString('hex');
}

/** Claims `name` for `id`. @throws ERR_IMAGE_EXISTS when the name is taken. */
export async function reserveName(ioctx: IoCtx, name: string, id: string): Promise<void> {
  try {
    await ioctx.operate(idObjectName(name), {
      guards: [{ op: 'assert_not_exists' }],
      steps: [{ op: 'write_full', data: Buffer.from(id) }],
    });
  } catch (e) {
    if (isErrno(e, 'EEXIST')) {
      throw err('ERR_IMAGE_EXISTS', `rbd image ${name} already exists; create error: (17) File exists`);
    }
    throw e;
  }
}

export async function addToDirectory(ioctx: IoCtx, name: string, id: string): Promise<void> {
  await ioctx.omapSet(DIRECTORY_OID, new Map([
    [`name_${name}`, Buffer.from(id)],
    [`id_${id}`, Buffer.from(name)],
  ]));
}

/** Removes whatever of the two entries exists. */
export async function removeFromDirectory(ioctx: IoCtx, name: string, id: string): Promise<void> {
  await ignoreEnoent(ioctx.omapRemoveKeys(DIRECTORY_OID, [`name_${name}`, `id_${id}`]));
}

export async function removeIdObject(ioctx: IoCtx, name: string): Promise<void> {
  await ignoreEnoent(ioctx.remove(idObjectName(name)));
}

/**
 * The id of `name`: from `rbd_id.<name>`, else from the directory (an image whose removal
 * stopped half-way still has one of the two). `undefined` when neither knows the name.
 */
export async function lookupImageId(ioctx: IoCtx, name: string): Promise<string | undefined> {
  try {
    return (await ioctx.read(idObjectName(name))).toString();
  } catch (e) {
    if (!isErrno(e, 'ENOENT')) throw e;
  }
  const entries = await ignoreEnoent(ioctx.omapGetValsByKeys(DIRECTORY_OID, [`name_${name}`]));
  return entries?.get(`name_${name}`)?.toString();
}

export async function lookupImageName(ioctx: IoCtx, id: string): Promise<string | undefined> {
  const entries = await ignoreEnoent(ioctx.omapGetValsByKeys(DIRECTORY_OID, [`id_${id}`]));
  return entries?.get(`id_${id}`)?.toString();
}

/** Every image of the pool, sorted by name (omap order). */
export async function listDirectory(ioctx: IoCtx): Promise<Array<{ name: string; id: string }>> {
  const out: Array<{ name: string; id: string }> = [];
  let after: string | undefined;
  for (;;) {
    const page = await ignoreEnoent(ioctx.omapGetVals(DIRECTORY_OID, { prefix: 'name_', max: 1024, ...(after !== undefined ? { after } : {}) }));
    if (!page) return out;
    for (const [key, value] of page.entries) {
      out.push({ name: key.slice('name_'.length), id: value.toString() });
      after = key;
    }
    if (!page.more || page.entries.size === 0) return out;
  }
}

export async function ignoreEnoent<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return undefined;
    throw e;
  }
}
