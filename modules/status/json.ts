/**
 * Views in rbd's JSON shapes (`mirror image status` 050/247/253, `mirror pool status` 053/054/256);
 * the plain layouts render from these, so both formats say the same.
 */
import type { DaemonView, HeartbeatRecord, ImageStatusView, PoolStatusView, SiteStatus } from './api.js';

export interface DaemonServiceJson { service_id: string; instance_id: string; daemon_id: string; hostname: string }
export interface PeerSiteJson { site_name: string; mirror_uuids: string; state: string; description: string; last_update: string }
export interface ImageStatusJson {
  name: string; global_id: string; state: string; description: string;
  daemon_service?: DaemonServiceJson; last_update: string; peer_sites?: PeerSiteJson[];
}
export interface DaemonJson {
  service_id: string; instance_id: string; client_id: string; hostname: string; ceph_version: string;
  leader: boolean; health: string; callouts?: string[];
}
export interface PoolStatusJson {
  summary: { health: string; daemon_health: string; image_health: string; states: Record<string, number>; unknown_reasons?: Record<string, number> };
  daemons?: DaemonJson[];
  images?: ImageStatusJson[];
}

const pad = (n: number): string => String(n).padStart(2, '0');
/** rbd prints local time `YYYY-MM-DD HH:MM:SS`; '' when there is none. */
export function timeText(ms: number | undefined): string {
  if (ms === undefined) return '';
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** rbd shows the daemon's id: `client.rbd-mirror.a` → `a`. */
export const daemonId = (entity: string): string => entity.replace(/^client\./, '').replace(/^rbd-mirror\./, '');

const stateText = (s: SiteStatus): string => `${s.up ? 'up' : 'down'}+${s.state}`;

function daemonService(h: HeartbeatRecord): DaemonServiceJson {
  return { service_id: h.service_id, instance_id: h.instance_id, daemon_id: daemonId(h.entity), hostname: h.hostname };
}

export function imageJson(name: string, v: ImageStatusView): ImageStatusJson {
  // Key order as rbd's: daemon_service (when a writer is known) before last_update.
  const out: ImageStatusJson = {
    name, global_id: v.global_id, state: stateText(v.local), description: v.local.description,
    ...(v.local.daemon ? { daemon_service: daemonService(v.local.daemon) } : {}),
    last_update: timeText(v.local.last_update),
  };
  if (v.peers.length > 0) {
    out.peer_sites = v.peers.map((p) => ({ site_name: p.site_name, mirror_uuids: p.mirror_uuid, state: stateText(p), description: p.description, last_update: timeText(p.last_update) }));
  }
  return out;
}

export function daemonJson(d: DaemonView): DaemonJson {
  // A stale heartbeat is shown, not hidden: the daemon is known but no longer reporting.
  const callouts = d.live ? d.callouts : [...d.callouts, `not reporting status since ${timeText(d.last_update)}`];
  const out: DaemonJson = {
    service_id: d.service_id, instance_id: d.instance_id, client_id: daemonId(d.entity), hostname: d.hostname,
    ceph_version: d.version, leader: d.leader, health: d.live ? d.health : 'ERROR',
  };
  if (callouts.length > 0) out.callouts = callouts;
  return out;
}

export function poolJson(v: PoolStatusView, verbose: boolean): PoolStatusJson {
  const summary: PoolStatusJson['summary'] = { health: v.health, daemon_health: v.daemon_health, image_health: v.image_health, states: v.states as Record<string, number> };
  if (Object.keys(v.unknown_reasons).length > 0) summary.unknown_reasons = v.unknown_reasons;
  const out: PoolStatusJson = { summary };
  if (verbose) {
    out.daemons = v.daemons.map(daemonJson);
    out.images = v.images.map((i) => imageJson(i.name, i.view));
  }
  return out;
}
