/**
 * The `records` service: writers for the replay daemon, readers for the status commands.
 */
import { errno, type Cluster, type IoCtx, type Logger, type WatchHandle } from '../../host/index.js';
import type { ImageStateService } from '../image-state/api.js';
import type { ImagesService } from '../rbd/api.js';
import type { PoolMirroringService } from '../pool-config/api.js';
import type { HeartbeatRecord, ImageStatusRecord, ImageStatusView, PoolStatusView, StatusService, StatusState } from './api.js';
import { DAEMONS_OID, DEFAULT_TTL_MS, MIRRORING_OID, daemonKey, notifyStatus, parseEvent, statusKey } from './store.js';
import { daemonHealth, imageHealth, maxHealth, summaryState } from './summary.js';
import { peerStatus, readPeer, reportingPeers, siteStatus, snapshotOf, type PeerSnapshot } from './views.js';

export interface Deps {
  mirroring: PoolMirroringService;
  state: ImageStateService;
  images: ImagesService;
  log: Logger;
}

const enc = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));

async function withIo<T>(cluster: Cluster, pool: string, fn: (io: IoCtx) => Promise<T>): Promise<T> {
  const io = await cluster.ioctx(pool);
  try {
    return await fn(io);
  } finally {
    await io.close();
  }
}

async function enabledMirroring(d: Deps, cluster: Cluster, pool: string) {
  const pm = await d.mirroring.getPoolMirroring(cluster, pool);
  if (pm.mode === 'disabled') throw errno('EINVAL', 'ERR_MIRRORING_NOT_ENABLED', 'mirroring not enabled on the pool');
  return pm;
}

function view(globalId: string, local: ReturnType<typeof siteStatus>, peers: PeerSnapshot[]): ImageStatusView {
  const ps = peers.map((p) => peerStatus(p, globalId));
  const s = summaryState(local, ps);
  return { global_id: globalId, local, peers: ps, summary: s.state, unknown_reason: s.reason };
}

export function statusService(deps: () => Deps): StatusService {
  return {
    async writeImageStatus(cluster, pool, input) {
      const pm = await enabledMirroring(deps(), cluster, pool);
      const rec: ImageStatusRecord = { ...input, last_update: Date.now(), site_name: pm.site_name, mirror_uuid: pm.mirror_uuid };
      await withIo(cluster, pool, async (io) => {
        await io.operate(MIRRORING_OID, { steps: [{ op: 'omap_set', entries: new Map([[statusKey(rec.global_id, rec.mirror_uuid), enc(rec)]]) }] });
        await notifyStatus(io, { event: 'image_status_updated', pool, id: rec.global_id });
      });
      return rec;
    },

    async removeImageStatus(cluster, pool, globalId) {
      const pm = await deps().mirroring.getPoolMirroring(cluster, pool);
      await withIo(cluster, pool, async (io) => {
        try {
          await io.operate(MIRRORING_OID, { guards: [{ op: 'assert_exists' }], steps: [{ op: 'omap_rm', keys: [statusKey(globalId, pm.mirror_uuid)] }] });
        } catch (e) {
          if ((e as { errno?: string }).errno !== 'ENOENT') throw e;
          return;
        }
        await notifyStatus(io, { event: 'image_status_removed', pool, id: globalId });
      });
    },

    async writeHeartbeat(cluster, input) {
      const { pools, ...rest } = input;
      const rec: HeartbeatRecord = {
        ...rest, service_id: input.service_id ?? input.instance_id, callouts: input.callouts ?? [],
        ttl_ms: input.ttl_ms ?? DEFAULT_TTL_MS, last_update: Date.now(),
      };
      for (const pool of pools) {
        await withIo(cluster, pool, async (io) => {
          await io.operate(DAEMONS_OID, { steps: [{ op: 'omap_set', entries: new Map([[daemonKey(rec.instance_id), enc(rec)]]) }] });
          await notifyStatus(io, { event: 'heartbeat', pool, id: rec.instance_id });
        });
      }
      return rec;
    },

    async removeHeartbeat(cluster, pool, instanceId) {
      await withIo(cluster, pool, async (io) => {
        await io.operate(DAEMONS_OID, { steps: [{ op: 'create', exclusive: false }, { op: 'omap_rm', keys: [daemonKey(instanceId)] }] });
        await notifyStatus(io, { event: 'heartbeat', pool, id: instanceId });
      });
    },

    async readImageStatus(cluster, pool, globalId) {
      const d = deps();
      const pm = await d.mirroring.getPoolMirroring(cluster, pool);
      const now = Date.now();
      const local = await withIo(cluster, pool, (io) => snapshotOf(io, pm.site_name, pm.mirror_uuid, now, globalId));
      const peers = await Promise.all(reportingPeers(pm.peers).map((p) => readPeer(d.mirroring, p, pool, now, globalId)));
      return view(globalId, siteStatus(local, globalId), peers);
    },

    async readPoolStatus(cluster, pool): Promise<PoolStatusView> {
      const d = deps();
      const pm = await enabledMirroring(d, cluster, pool);
      const now = Date.now();
      const local = await withIo(cluster, pool, (io) => snapshotOf(io, pm.site_name, pm.mirror_uuid, now));
      const peers = await Promise.all(reportingPeers(pm.peers).map((p) => readPeer(d.mirroring, p, pool, now)));
      const names = new Map((await d.images.listImages(cluster, pool)).map((e) => [e.id, e.name]));
      const records = (await d.state.listMirroredImages(cluster, pool)).filter((r) => r.state === 'enabled');
      const images = records
        .map((r) => ({ name: names.get(r.imageId) ?? r.imageId, view: view(r.globalId, siteStatus(local, r.globalId), peers) }))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      const states: Partial<Record<StatusState, number>> = {};
      const unknown_reasons: Record<string, number> = {};
      for (const { view: v } of images) {
        states[v.summary] = (states[v.summary] ?? 0) + 1;
        if (v.summary === 'unknown') unknown_reasons[v.unknown_reason ?? 'no status reported'] = (unknown_reasons[v.unknown_reason ?? 'no status reported'] ?? 0) + 1;
      }
      const daemons = [...local.daemons].sort((a, b) => a.service_id.localeCompare(b.service_id) || a.instance_id.localeCompare(b.instance_id));
      const image_health = imageHealth(states);
      const daemon_health = daemonHealth(daemons);
      return { pool, site_name: pm.site_name, health: maxHealth(image_health, daemon_health), daemon_health, image_health, states, unknown_reasons, daemons, images };
    },

    async watch(cluster, pool, cb): Promise<WatchHandle> {
      const io = await cluster.ioctx(pool);
      try {
        // A watch needs the object; a pool no daemon has reported to has none yet.
        await io.operate(DAEMONS_OID, { steps: [{ op: 'create', exclusive: false }] });
        const h = await io.watch(DAEMONS_OID, (msg) => {
          const ev = parseEvent(msg.payload);
          if (!ev) return;
          // Ack at once; the callback's work must not hold up the writer.
          queueMicrotask(() => {
            try {
              cb(ev);
            } catch (e) {
              deps().log.error(`status watcher of pool ${pool} failed`, e);
            }
          });
        });
        return { cookie: h.cookie, close: async () => { await h.close(); await io.close(); } };
      } catch (e) {
        await io.close();
        throw e;
      }
    },
  };
}
