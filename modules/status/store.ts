/**
 * Raw storage of status records and heartbeats: single-object omap operations on the pool's
 * `rbd_mirroring` (statuses, next to other modules' keys, which are never touched) and
 * `rbd_mirror_daemons` (heartbeats, and the object status watchers watch).
 */
import type { IoCtx } from '../../host/index.js';
import { STATUS_STATES, type HeartbeatRecord, type ImageStatusRecord, type StatusEvent } from './api.js';

export const MIRRORING_OID = 'rbd_mirroring';
export const DAEMONS_OID = 'rbd_mirror_daemons';
export const STATUS_PREFIX = 'status_global_';
export const DAEMON_PREFIX = 'daemon_';
export const DEFAULT_TTL_MS = 30_000;

export const statusKey = (globalId: string, mirrorUuid: string): string => `${STATUS_PREFIX}${globalId}_${mirrorUuid}`;
export const daemonKey = (instanceId: string): string => `${DAEMON_PREFIX}${instanceId}`;

function isNotFound(e: unknown): boolean {
  return (e as { errno?: string }).errno === 'ENOENT';
}

/** Every omap entry under `prefix`, paged; a missing object has none. */
export async function omapAll(io: IoCtx, oid: string, prefix: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  let after: string | undefined;
  try {
    for (;;) {
      const page = await io.omapGetVals(oid, after === undefined ? { prefix, max: 512 } : { prefix, after, max: 512 });
      for (const [k, v] of page.entries) { out.set(k, v); after = k; }
      if (!page.more || page.entries.size === 0) return out;
    }
  } catch (e) {
    if (isNotFound(e)) return out;
    throw e;
  }
}

function parseJson(v: Buffer): unknown {
  try {
    return JSON.parse(v.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** Records that do not parse are skipped: a reader must not fail on one bad value. */
export function parseStatus(v: Buffer): ImageStatusRecord | undefined {
  const r = parseJson(v) as Partial<ImageStatusRecord> | undefined;
  if (!r || typeof r.global_id !== 'string' || !(STATUS_STATES as readonly unknown[]).includes(r.state)) return undefined;
  return r as ImageStatusRecord;
}

export function parseHeartbeat(v: Buffer): HeartbeatRecord | undefined {
  const r = parseJson(v) as Partial<HeartbeatRecord> | undefined;
  if (!r || typeof r.instance_id !== 'string' || typeof r.last_update !== 'number') return undefined;
  return r as HeartbeatRecord;
}

/** All status records of a pool, by global id (every site that wrote into this pool). */
export async function readStatuses(io: IoCtx, globalId?: string): Promise<ImageStatusRecord[]> {
  const prefix = globalId === undefined ? STATUS_PREFIX : `${STATUS_PREFIX}${globalId}_`;
  return [...(await omapAll(io, MIRRORING_OID, prefix)).values()].flatMap((v) => parseStatus(v) ?? []);
}

export async function readHeartbeats(io: IoCtx): Promise<HeartbeatRecord[]> {
  return [...(await omapAll(io, DAEMONS_OID, DAEMON_PREFIX)).values()].flatMap((v) => parseHeartbeat(v) ?? []);
}

export function isLive(hb: HeartbeatRecord, now: number): boolean {
  return now < hb.last_update + hb.ttl_ms;
}

/** A cue to watchers; the daemons object is created by the notify's own pool write before. */
export async function notifyStatus(io: IoCtx, ev: StatusEvent): Promise<void> {
  await io.operate(DAEMONS_OID, { steps: [{ op: 'create', exclusive: false }] });
  await io.notify(DAEMONS_OID, Buffer.from(JSON.stringify(ev)), 1000);
}

export function parseEvent(payload: Buffer): StatusEvent | undefined {
  const ev = parseJson(payload) as Partial<StatusEvent> | undefined;
  if (!ev || (ev.event !== 'image_status_updated' && ev.event !== 'image_status_removed' && ev.event !== 'heartbeat')) return undefined;
  return ev as StatusEvent;
}
