/** The `state` service (api.ts) over the record store and the enable/disable flows. */
import { errno, type Cluster, type WatchHandle } from '../../host/index.js';
import type { ImageStateService, ImageUpdatedEvent, MirrorImage } from './api.js';
import { targetById, withIo, type Deps } from './deps.js';
import { disableImage } from './enable-disable.js';
import { MIRRORING_OID, imageIdOfGlobal, listRecords, parseImageEvent, readRecord, updateRecord } from './record-store.js';

const notFound = (id: string): Error => errno('ENOENT', 'ERR_MIRROR_IMAGE_NOT_FOUND', `image ${id} has no mirroring record`);

async function change(cluster: Cluster, pool: string, imageId: string, fn: (r: MirrorImage) => MirrorImage): Promise<MirrorImage> {
  const r = await withIo(cluster, pool, (io) => updateRecord(io, imageId, ({ record }) => {
    if (!record) throw notFound(imageId);
    const next = fn(record);
    return JSON.stringify(next) === JSON.stringify(record) ? 'keep' : next;
  }));
  return r!;
}

async function watch(cluster: Cluster, pool: string, cb: (ev: ImageUpdatedEvent) => void, d: Deps): Promise<WatchHandle> {
  const io = await cluster.ioctx(pool);
  try {
    // A watch needs the object; a pool that never had mirroring has none yet.
    await io.operate(MIRRORING_OID, { steps: [{ op: 'create', exclusive: false }] });
    const h = await io.watch(MIRRORING_OID, (msg) => {
      const ev = parseImageEvent(msg.payload);
      if (!ev) return;
      // Ack at once; the callback's work must not hold up the notifier.
      queueMicrotask(() => {
        try {
          cb(ev);
        } catch (e) {
          d.log.error(`image-state watcher of pool ${pool} failed`, e);
        }
      });
    });
    return { cookie: h.cookie, close: async () => { await h.close(); await io.close(); } };
  } catch (e) {
    await io.close();
    throw e;
  }
}

export function imageStateService(d: () => Deps): ImageStateService {
  return {
    listMirroredImages: (cluster, pool) => withIo(cluster, pool, listRecords),
    getByImageId: (cluster, pool, id) => withIo(cluster, pool, (io) => readRecord(io, id)),
    getByGlobalId: (cluster, pool, gid) => withIo(cluster, pool, async (io) => {
      const id = await imageIdOfGlobal(io, gid);
      return id === undefined ? undefined : readRecord(io, id);
    }),
    createNonPrimary: async (cluster, pool, imageId, globalId) => {
      const r = await withIo(cluster, pool, (io) => updateRecord(io, imageId, ({ record, globalOwner }) => {
        if (record) throw errno('EEXIST', 'ERR_MIRROR_IMAGE_EXISTS', `image ${imageId} already has a mirroring record (global id ${record.globalId})`);
        if (globalOwner !== undefined) throw errno('EEXIST', 'ERR_MIRROR_IMAGE_EXISTS', `global id ${globalId} already belongs to image ${globalOwner}`);
        return { imageId, globalId, state: 'enabled', mode: 'journal', primary: false, resyncRequested: false };
      }, { globalId }));
      return r!;
    },
    setResyncRequested: (cluster, pool, id, requested) => change(cluster, pool, id, (r) => ({ ...r, resyncRequested: requested })),
    setPrimary: (cluster, pool, id, primary) => change(cluster, pool, id, (r) => ({ ...r, primary, resyncRequested: primary ? false : r.resyncRequested })),
    disable: async (cluster, pool, id, opts = {}) => {
      const deps = d();
      const t = await targetById(deps, cluster, pool, id).catch(() => undefined);
      await disableImage(deps, t ?? { cluster, pool, id, name: id, features: 0 }, { ...(opts.force !== undefined ? { force: opts.force } : {}), ...(t ? {} : { recordOnly: true }) });
    },
    watch: (cluster, pool, cb) => watch(cluster, pool, cb, d()),
  };
}
