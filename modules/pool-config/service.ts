/**
 * The `mirroring` service object (api.ts): the operations, plus what only a service needs:
 * peer connections for the replay daemon, the data pool rules and watches.
 */
import { HostError, type Cluster, type ModuleContext, type WatchHandle } from '../../host/index.js';
import type { MirrorPeer, MirroringEvent, PoolMirroringService } from './api.js';
import { selectDataPool } from './data-pool.js';
import { MIRRORING_OID, ensureObject, parseEvent } from './mirroring-store.js';
import { registerModeHook } from './mode-hooks.js';
import { PoolMirroringOps } from './pool-ops.js';

export function opsFor(ctx: ModuleContext): PoolMirroringOps {
  return new PoolMirroringOps({ conf: ctx.conf, log: ctx.log, emit: (t, id) => ctx.emit(t, id) });
}

/** Ceph's resolution: `<site>.conf` and `<site>.<client>.keyring` in the conf directory. */
async function connectPeer(ctx: ModuleContext, peer: MirrorPeer): Promise<Cluster> {
  const entity = peer.client_name || ctx.conf.entity;
  try {
    return await ctx.connectCluster(peer.site_name, entity);
  } catch (e) {
    const he = HostError.wrap(e);
    throw new HostError(he.code, he.errno, `cannot connect to peer site '${peer.site_name}' as ${entity}: ${he.message}`, { cause: he });
  }
}

async function watchPoolMirroring(cluster: Cluster, pool: string, cb: (ev: MirroringEvent) => void, ctx: ModuleContext): Promise<WatchHandle> {
  const io = await cluster.ioctx(pool);
  try {
    // A watch needs the object; a pool whose mirroring was never enabled has none yet.
    await ensureObject(io);
    const handle = await io.watch(MIRRORING_OID, (msg) => {
      const ev = parseEvent(msg.payload, pool);
      if (!ev) return;
      // Answer the notify at once; the callback's work must not hold up the notifier.
      queueMicrotask(() => {
        try {
          cb(ev);
        } catch (e) {
          ctx.log.error(`rbd_mirroring watcher of pool ${pool} failed`, e);
        }
      });
    });
    return { cookie: handle.cookie, close: async () => { await handle.close(); await io.close(); } };
  } catch (e) {
    await io.close();
    throw e;
  }
}

export function mirroringService(ctx: ModuleContext): PoolMirroringService {
  const ops = opsFor(ctx);
  return {
    getPoolMirroring: (cluster, pool) => ops.get(cluster, pool),
    listPeers: async (cluster, pool) => (await ops.get(cluster, pool)).peers,
    setPoolMode: (cluster, pool, mode, opts) => ops.setMode(cluster, pool, mode, opts),
    addPeer: (cluster, pool, peer) => ops.addPeer(cluster, pool, peer),
    removePeer: (cluster, pool, uuid) => ops.removePeer(cluster, pool, uuid),
    updatePeer: (cluster, pool, uuid, changes) => ops.updatePeer(cluster, pool, uuid, changes),
    connectPeer: (peer) => connectPeer(ctx, peer),
    selectDataPool: (destination, sourceDataPool, conf) => selectDataPool(destination, sourceDataPool, conf ?? ctx.conf),
    watchPoolMirroring: (cluster, pool, cb) => watchPoolMirroring(cluster, pool, cb, ctx),
    registerModeHook,
  };
}
