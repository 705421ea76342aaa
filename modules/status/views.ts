/**
 * Status records and heartbeats of one site's pool turned into `SiteStatus` views: which
 * record is this site's (its current mirror uuid), whether its writer is live, and why a
 * state is unknown.
 */
import type { Cluster, IoCtx } from '../../host/index.js';
import type { MirrorPeer, PoolMirroringService } from '../pool-config/api.js';
import type { DaemonView, HeartbeatRecord, ImageStatusRecord, SiteStatus } from './api.js';
import { isLive, readHeartbeats, readStatuses } from './store.js';

/** One site's pool as read at one moment: its status records and daemons. */
export interface SiteSnapshot {
  site_name: string;
  mirror_uuid: string;
  statuses: Map<string, ImageStatusRecord>;
  daemons: DaemonView[];
}

export async function snapshotOf(io: IoCtx, siteName: string, mirrorUuid: string, now: number, globalId?: string): Promise<SiteSnapshot> {
  const statuses = new Map<string, ImageStatusRecord>();
  // Records left by an earlier enable (another mirror uuid) are not this site's status.
  for (const r of await readStatuses(io, globalId)) if (r.mirror_uuid === mirrorUuid) statuses.set(r.global_id, r);
  const daemons = (await readHeartbeats(io)).map((h) => ({ ...h, live: isLive(h, now) }));
  return { site_name: siteName, mirror_uuid: mirrorUuid, statuses, daemons };
}

export function siteStatus(snap: SiteSnapshot, globalId: string): SiteStatus {
  const r = snap.statuses.get(globalId);
  if (!r) {
    const why = snap.daemons.some((d) => d.live)
      ? `no status from the rbdm-mirror daemon of site ${snap.site_name} yet`
      : `no rbdm-mirror daemon reporting on site ${snap.site_name}`;
    return { site_name: snap.site_name, mirror_uuid: snap.mirror_uuid, state: 'unknown', description: 'status not found', last_update: undefined, up: false, daemon: undefined, unknown_reason: why };
  }
  const daemon: HeartbeatRecord | undefined = snap.daemons.find((d) => d.instance_id === r.instance_id);
  const up = snap.daemons.some((d) => d.instance_id === r.instance_id && d.live);
  const unknown_reason = !up
    ? `the rbdm-mirror daemon of site ${snap.site_name} stopped reporting`
    : r.state === 'unknown' ? `site ${snap.site_name} reports state unknown` : undefined;
  return { site_name: snap.site_name, mirror_uuid: snap.mirror_uuid, state: r.state, description: r.description, last_update: r.last_update, up, daemon, unknown_reason };
}

/** A peer site: its snapshot, or why it could not be read. */
export type PeerSnapshot = { peer: MirrorPeer; snap: SiteSnapshot } | { peer: MirrorPeer; error: string };

const CONNECT_TIMEOUT_MS = 5000;

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, rej) => { timer = setTimeout(() => rej(new Error(`${what} timed out after ${ms / 1000} s`)), ms); });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/**
 * Reads a peer site's pool through a peer connection. Any failure is kept as the reason:
 * the caller shows what is known and says why the rest is not.
 */
export async function readPeer(mirroring: PoolMirroringService, peer: MirrorPeer, pool: string, now: number, globalId?: string): Promise<PeerSnapshot> {
  let cluster: Cluster | undefined;
  try {
    cluster = await withTimeout(mirroring.connectPeer(peer), CONNECT_TIMEOUT_MS, 'connecting');
    const c = cluster;
    return await withTimeout((async () => {
      const pm = await mirroring.getPoolMirroring(c, pool);
      if (pm.mode === 'disabled') return { peer, error: `mirroring not enabled on pool ${pool} of site ${peer.site_name}` };
      const io = await c.ioctx(pool);
      try {
        return { peer, snap: await snapshotOf(io, peer.site_name, pm.mirror_uuid, now, globalId) };
      } finally {
        await io.close();
      }
    })(), CONNECT_TIMEOUT_MS, 'reading');
  } catch (e) {
    return { peer, error: (e as Error).message };
  } finally {
    if (cluster) await cluster.shutdown().catch(() => undefined);
  }
}

export function peerStatus(p: PeerSnapshot, globalId: string): SiteStatus {
  if ('snap' in p) return siteStatus(p.snap, globalId);
  return {
    site_name: p.peer.site_name, mirror_uuid: p.peer.mirror_uuid, state: 'unknown',
    description: `status unknown: peer site ${p.peer.site_name} unreachable (${p.error})`,
    last_update: undefined, up: false, daemon: undefined,
    unknown_reason: `peer site ${p.peer.site_name} unreachable`,
  };
}

/** Peers whose daemons replay from us and so should report (rbd's TX peers). */
export const reportingPeers = (peers: MirrorPeer[]): MirrorPeer[] => peers.filter((p) => p.direction !== 'rx-only');
