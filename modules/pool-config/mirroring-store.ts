/**
 * On-store format of a pool's mirroring configuration, and the guarded read-modify-write
 * that every change goes through.
 *
 * Object `rbd_mirroring` in the pool (Ceph's name), omap, values UTF-8 text:
 *   mirror_mode          `image` | `pool` (absent = disabled)
 *   mirror_uuid          the pool's mirror uuid
 *   site_name            the pool's site name
 *   mirror_peer_<uuid>   JSON {uuid, direction, site_name, mirror_uuid, client_name}
 *   mirror_config_gen    decimal counter, +1 on every configuration change
 * Other modules keep their own keys in this object (image entries, statuses); they are
 * never touched here.
 */
import { HostError, type Guard, type IoCtx, type WriteStep } from '../../host/index.js';
import type { MirrorMode, MirrorPeer, MirroringEvent, PeerDirection } from './api.js';

export const MIRRORING_OID = 'rbd_mirroring';
export const KEY_MODE = 'mirror_mode';
export const KEY_UUID = 'mirror_uuid';
export const KEY_SITE = 'site_name';
export const KEY_GEN = 'mirror_config_gen';
export const PEER_PREFIX = 'mirror_peer_';

/** How often a change re-reads and re-plans after losing a race before giving up. */
const MAX_ATTEMPTS = 50;

export interface StoredState {
  mode: MirrorMode;
  mirrorUuid: string;
  siteName: string;
  peers: MirrorPeer[];
  /** undefined: the object does not exist. */
  version: number | undefined;
  /** undefined: no configuration change was ever written. */
  gen: string | undefined;
}

const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');

const DIRECTIONS: readonly PeerDirection[] = ['rx-only', 'tx-only', 'rx-tx'];

function decodePeer(uuid: string, raw: Buffer): MirrorPeer {
  const v = JSON.parse(raw.toString('utf8')) as Partial<MirrorPeer>;
  return {
    uuid,
    direction: DIRECTIONS.includes(v.direction as PeerDirection) ? (v.direction as PeerDirection) : 'rx-tx',
    site_name: v.site_name ?? '',
    mirror_uuid: v.mirror_uuid ?? '',
    client_name: v.client_name ?? '',
  };
}

export function encodePeer(p: MirrorPeer): [string, Buffer] {
  const { uuid, direction, site_name, mirror_uuid, client_name } = p;
  return [PEER_PREFIX + uuid, utf8(JSON.stringify({ uuid, direction, site_name, mirror_uuid, client_name }))];
}

function isErrno(e: unknown, name: string): boolean {
  return e instanceof HostError && e.errno === name;
}

/** One atomic read of the whole configuration (a missing object reads as disabled). */
export async function readState(io: IoCtx): Promise<StoredState> {
  let res;
  try {
    res = await io.operateRead(MIRRORING_OID, {
      steps: [
        { op: 'stat' },
        { op: 'omap_get_vals_by_keys', keys: [KEY_MODE, KEY_UUID, KEY_SITE, KEY_GEN] },
        { op: 'omap_get_vals', prefix: PEER_PREFIX },
      ],
    });
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return { mode: 'disabled', mirrorUuid: '', siteName: '', peers: [], version: undefined, gen: undefined };
    throw e;
  }
  const [stat, fields, peerPage] = res;
  const f = fields?.op === 'omap_get_vals_by_keys' ? fields.entries : new Map<string, Buffer>();
  const mode = f.get(KEY_MODE)?.toString('utf8');
  const peers: MirrorPeer[] = [];
  if (peerPage?.op === 'omap_get_vals') {
    for (const [k, v] of peerPage.entries) peers.push(decodePeer(k.slice(PEER_PREFIX.length), v));
  }
  return {
    mode: mode === 'image' || mode === 'pool' ? mode : 'disabled',
    mirrorUuid: f.get(KEY_UUID)?.toString('utf8') ?? '',
    siteName: f.get(KEY_SITE)?.toString('utf8') ?? '',
    // rbd lists peers by uuid (cls omap order); ours are the same keys.
    peers,
    version: stat?.op === 'stat' ? stat.stat.version : undefined,
    gen: f.get(KEY_GEN)?.toString('utf8'),
  };
}

/** What a change wants written; no steps means nothing to do. */
export interface Plan<T> {
  steps: WriteStep[];
  result: T;
  event: MirroringEvent['event'];
  /** The mode after the change (carried by the notify). */
  mode: MirrorMode;
}

/**
 * Guards for writing over `s`: the generation counter once there is one, so writes of other
 * modules to the same object (image entries, statuses) do not conflict with configuration
 * changes; before that, the object's version or its absence.
 */
function guardsFor(s: StoredState): Guard[] {
  if (s.version === undefined) return [{ op: 'assert_not_exists' }];
  if (s.gen === undefined) return [{ op: 'assert_version', version: s.version }];
  return [{ op: 'cmp_omap', key: KEY_GEN, cmp: 'eq', value: utf8(s.gen) }];
}

function lostRace(e: unknown): boolean {
  return isErrno(e, 'ECANCELED') || isErrno(e, 'EEXIST');
}

/**
 * Read, plan, write under a guard; when another client changed the configuration in between,
 * read and plan again (the plan re-validates, so the loser of a race sees the winner's
 * change). After the write, watchers of the object are notified; a failed notify does not
 * undo the change (`onNotifyError` reports it).
 */
export async function transact<T>(
  io: IoCtx,
  pool: string,
  plan: (s: StoredState) => Promise<Plan<T>>,
  onNotifyError: (e: unknown) => void,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const s = await readState(io);
    const p = await plan(s);
    if (p.steps.length === 0) return p.result;
    const gen = String(Number(s.gen ?? '0') + 1);
    const steps: WriteStep[] = [
      ...(s.version === undefined ? [{ op: 'create', exclusive: true } as const] : []),
      ...p.steps,
      { op: 'omap_set', entries: new Map([[KEY_GEN, utf8(gen)]]) },
    ];
    try {
      await io.operate(MIRRORING_OID, { guards: guardsFor(s), steps });
    } catch (e) {
      if (!lostRace(e) || attempt >= MAX_ATTEMPTS) throw e;
      await new Promise((r) => setTimeout(r, Math.min(50, attempt * 2 + Math.random() * 5)));
      continue;
    }
    const event: MirroringEvent = { event: p.event, pool, mode: p.mode };
    await io.notify(MIRRORING_OID, utf8(JSON.stringify(event))).catch(onNotifyError);
    return p.result;
  }
}

/** Makes sure the object exists (a watch needs it), without touching its contents. */
export async function ensureObject(io: IoCtx): Promise<void> {
  await io.operate(MIRRORING_OID, { steps: [{ op: 'create', exclusive: false }] });
}

const EVENTS: ReadonlySet<string> = new Set(['mode_updated', 'peers_updated', 'site_updated']);
const MODES: ReadonlySet<string> = new Set(['disabled', 'image', 'pool']);

/**
 * Our notify payloads; undefined for others', since other modules notify on the same object
 * (image mirroring updates, as Ceph's MirroringWatcher does) for their own watchers.
 */
export function parseEvent(payload: Buffer, pool: string): MirroringEvent | undefined {
  try {
    const v = JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
    if (typeof v.event === 'string' && EVENTS.has(v.event) && typeof v.mode === 'string' && MODES.has(v.mode)) {
      return { event: v.event as MirroringEvent['event'], pool, mode: v.mode as MirrorMode };
    }
  } catch {
    // not JSON: not ours
  }
  return undefined;
}

export { utf8 };
