/**
 * On-store format of image mirroring records, and the guarded read-modify-write every change
 * goes through.
 *
 * Object `rbd_mirroring` in the image's pool (shared with pool-config, whose keys
 * `mirror_mode`, `mirror_uuid`, `site_name`, `mirror_peer_*`, `mirror_config_gen` are never
 * touched here). omap, values UTF-8:
 *   image_<image id>    JSON {global_id, state, mode, primary, resync_requested}
 *   global_<global id>  the image id (Ceph's reverse index)
 * Both keys of an image change in one compound op guarded by the object's version, so a
 * record and its index never disagree; a lost race re-reads and re-plans.
 * After every change the object's watchers get `{event:'image_updated', image_id,
 * global_id, state}` (Ceph's MirroringWatcher image-updated notify).
 */
import { HostError, errno, type Guard, type IoCtx, type WriteStep } from '../../host/index.js';
import type { ImageUpdatedEvent, MirrorImage, MirrorImageState } from './api.js';

export const MIRRORING_OID = 'rbd_mirroring';
export const IMAGE_PREFIX = 'image_';
export const GLOBAL_PREFIX = 'global_';
const MAX_ATTEMPTS = 50;
const STATES: ReadonlySet<string> = new Set(['enabling', 'enabled', 'disabling', 'disabled']);

const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');

export function isErrno(e: unknown, name: string): boolean {
  return e instanceof HostError && e.errno === name;
}

export function decodeRecord(imageId: string, raw: Buffer): MirrorImage {
  const v = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
  const state = typeof v.state === 'string' && STATES.has(v.state) ? (v.state as MirrorImageState) : 'disabling';
  return {
    imageId,
    globalId: typeof v.global_id === 'string' ? v.global_id : '',
    state,
    mode: 'journal',
    primary: v.primary === true,
    resyncRequested: v.resync_requested === true,
  };
}

export function encodeRecord(r: MirrorImage): Buffer {
  return utf8(JSON.stringify({ global_id: r.globalId, state: r.state, mode: r.mode, primary: r.primary, resync_requested: r.resyncRequested }));
}

/** All records of a pool, paged (a missing object has none). */
export async function listRecords(io: IoCtx): Promise<MirrorImage[]> {
  const out: MirrorImage[] = [];
  let after: string | undefined;
  for (;;) {
    let page;
    try {
      page = await io.omapGetVals(MIRRORING_OID, { prefix: IMAGE_PREFIX, max: 512, ...(after !== undefined ? { after } : {}) });
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return out;
      throw e;
    }
    for (const [k, v] of page.entries) {
      out.push(decodeRecord(k.slice(IMAGE_PREFIX.length), v));
      after = k;
    }
    if (!page.more || page.entries.size === 0) return out;
  }
}

export async function readRecord(io: IoCtx, imageId: string): Promise<MirrorImage | undefined> {
  try {
    const m = await io.omapGetValsByKeys(MIRRORING_OID, [IMAGE_PREFIX + imageId]);
    const raw = m.get(IMAGE_PREFIX + imageId);
    return raw ? decodeRecord(imageId, raw) : undefined;
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return undefined;
    throw e;
  }
}

export async function imageIdOfGlobal(io: IoCtx, globalId: string): Promise<string | undefined> {
  try {
    return (await io.omapGetValsByKeys(MIRRORING_OID, [GLOBAL_PREFIX + globalId])).get(GLOBAL_PREFIX + globalId)?.toString('utf8');
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return undefined;
    throw e;
  }
}

/** What a planner sees: the record (if any) and whether the object exists. */
export interface Current {
  record: MirrorImage | undefined;
  /** Image id that owns `globalId` when the planner asked about one. */
  globalOwner: string | undefined;
}

/** The next record (undefined = remove it), or `'keep'` for nothing to write. */
export type Next = MirrorImage | undefined | 'keep';

/**
 * Guarded read-modify-write of one image's record. `plan` may throw to refuse (nothing is
 * written); it runs again if another writer changed the object in between.
 * @returns the record after the change (undefined when removed).
 */
export async function updateRecord(
  io: IoCtx,
  imageId: string,
  plan: (cur: Current) => Next | Promise<Next>,
  opts: { globalId?: string } = {},
): Promise<MirrorImage | undefined> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    let version: number | undefined;
    let record: MirrorImage | undefined;
    let globalOwner: string | undefined;
    try {
      const keys = [IMAGE_PREFIX + imageId, ...(opts.globalId ? [GLOBAL_PREFIX + opts.globalId] : [])];
      const [st, vals] = await io.operateRead(MIRRORING_OID, { steps: [{ op: 'stat' }, { op: 'omap_get_vals_by_keys', keys }] });
      version = st?.op === 'stat' ? st.stat.version : undefined;
      const m = vals?.op === 'omap_get_vals_by_keys' ? vals.entries : new Map<string, Buffer>();
      const raw = m.get(IMAGE_PREFIX + imageId);
      record = raw ? decodeRecord(imageId, raw) : undefined;
      globalOwner = opts.globalId ? m.get(GLOBAL_PREFIX + opts.globalId)?.toString('utf8') : undefined;
    } catch (e) {
      if (!isErrno(e, 'ENOENT')) throw e;
    }
    const next = await plan({ record, globalOwner });
    if (next === 'keep') return record;
    const steps: WriteStep[] = [];
    const guards: Guard[] = version === undefined ? [{ op: 'assert_not_exists' }] : [{ op: 'assert_version', version }];
    if (version === undefined) steps.push({ op: 'create', exclusive: true });
    const rm: string[] = [];
    if (record && (!next || next.globalId !== record.globalId)) rm.push(GLOBAL_PREFIX + record.globalId);
    if (!next) rm.push(IMAGE_PREFIX + imageId);
    if (rm.length) steps.push({ op: 'omap_rm', keys: rm });
    if (next) {
      steps.push({ op: 'omap_set', entries: new Map([[IMAGE_PREFIX + imageId, encodeRecord(next)], [GLOBAL_PREFIX + next.globalId, utf8(imageId)]]) });
    }
    try {
      await io.operate(MIRRORING_OID, { guards, steps });
    } catch (e) {
      if (isErrno(e, 'ECANCELED') || isErrno(e, 'EEXIST') || isErrno(e, 'ENOENT')) continue;
      throw e;
    }
    const ev: ImageUpdatedEvent = { event: 'image_updated', image_id: imageId, global_id: (next ?? record)?.globalId ?? '', state: next ? next.state : 'disabled' };
    await notify(io, ev);
    return next;
  }
  throw errno('EBUSY', 'ERR_MIRROR_IMAGE_RACE', `mirroring record of image ${imageId} in pool ${io.poolName} keeps changing; try again`);
}

/** Tells the object's watchers (CLI, daemons); a slow watcher does not fail the change. */
export async function notify(io: IoCtx, ev: ImageUpdatedEvent): Promise<void> {
  await io.notify(MIRRORING_OID, utf8(JSON.stringify(ev)), 5000);
}

export function parseImageEvent(payload: Buffer): ImageUpdatedEvent | undefined {
  try {
    const v = JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
    if (v.event === 'image_updated' && typeof v.image_id === 'string' && typeof v.global_id === 'string' && typeof v.state === 'string' && STATES.has(v.state)) {
      return { event: 'image_updated', image_id: v.image_id, global_id: v.global_id, state: v.state as MirrorImageState };
    }
  } catch {
    // not JSON: another module's cue
  }
  return undefined;
}
