/**
 * rbd's roll-ups: an image's summary state (cls `compute_image_status_summary_state`) and the
 * pool's image/daemon health (MirrorPool.cc, MirrorDaemonServiceInfo.cc).
 */
import { STATUS_STATES, type DaemonView, type Health, type SiteStatus, type StatusState } from './api.js';

const HEALTH_ORDER: Health[] = ['OK', 'UNKNOWN', 'WARNING', 'ERROR'];
export const maxHealth = (...hs: Health[]): Health => hs.reduce((a, b) => (HEALTH_ORDER.indexOf(b) > HEALTH_ORDER.indexOf(a) ? b : a), 'OK');

const rank = (s: StatusState): number => STATUS_STATES.indexOf(s);

/**
 * Local status if up, folded with every peer site's by numeric min; a peer's stored `error`
 * wins even when that peer is down; a down or missing peer counts as `unknown`.
 */
export function summaryState(local: SiteStatus, peers: SiteStatus[]): { state: StatusState; reason: string | undefined } {
  let state: StatusState | undefined = local.up ? local.state : undefined;
  let reason = local.up ? undefined : local.unknown_reason;
  for (const p of peers) {
    if (p.state === 'error' && p.last_update !== undefined) return { state: 'error', reason: undefined };
    const s: StatusState = p.up ? p.state : 'unknown';
    if (s === 'unknown') reason ??= p.unknown_reason;
    if (state === undefined || rank(s) < rank(state)) state = s;
  }
  if (state === 'error') return { state, reason: undefined };
  if (state === undefined) return { state: 'unknown', reason: reason ?? 'no status reported' };
  return { state, reason: state === 'unknown' ? reason ?? 'a site reported state unknown' : undefined };
}

/** Anything but replaying/stopped warns; any error is an error. */
export function imageHealth(states: Partial<Record<StatusState, number>>): Health {
  let h: Health = 'OK';
  for (const [s, n] of Object.entries(states)) {
    if (!n) continue;
    if (s === 'error') h = maxHealth(h, 'ERROR');
    else if (s !== 'replaying' && s !== 'stopped') h = maxHealth(h, 'WARNING');
  }
  return h;
}

/**
 * No heartbeat ever written: UNKNOWN (rbd: no rbd-mirror service). Heartbeats but none live:
 * ERROR (no daemon serves the pool). No live leader: WARNING. Else the worst live daemon's.
 */
export function daemonHealth(daemons: DaemonView[]): Health {
  if (daemons.length === 0) return 'UNKNOWN';
  const live = daemons.filter((d) => d.live);
  if (live.length === 0) return 'ERROR';
  let h = maxHealth(...live.map((d) => d.health));
  if (!live.some((d) => d.leader)) h = maxHealth(h, 'WARNING');
  return h;
}
