/**
 * rbd 16.2's argument checks and refusals for `mirror pool ...`, worded as rbd prints them
 * after `rbd: ` (the CLI prefixes `rbdm: `). Exit codes are rbd's errnos.
 */
import { errno, type HostError } from '../../host/index.js';
import type { MirrorMode, PeerDirection } from './api.js';

// rbd's get_remote_cluster_spec(): `[client.NAME@]CLUSTER`, no '/' or '@' in the cluster.
const SPEC_RE = /^(?:(client\.[^@]+)@)?([^/@]+)$/;
// rbd's validate_uuid(): case-insensitive 8-4-4-4-12 hex.
const UUID_RE = /^[A-F0-9]{8}-[A-F0-9]{4}-[A-F0-9]{4}-[A-F0-9]{4}-[A-F0-9]{12}$/i;

const einval = (code: string, msg: string): HostError => errno('EINVAL', code, msg);

/** `mirror pool enable`'s mode word (checked before the pool is opened, as rbd does). */
export function parseEnableMode(mode: string | undefined): Exclude<MirrorMode, 'disabled'> {
  if (mode === 'image' || mode === 'pool') return mode;
  throw einval('ERR_MIRROR_MODE', "must specify 'image' or 'pool' mode.");
}

/** `[client.NAME@]CLUSTER`; the client defaults to the entity running the command, as rbd's. */
export function parsePeerSpec(spec: string | undefined, defaultClient: string): { site_name: string; client_name: string } {
  if (spec === undefined || spec === '') throw einval('ERR_MIRROR_PEER_SPEC', 'remote cluster was not specified');
  const m = SPEC_RE.exec(spec);
  if (!m) throw einval('ERR_MIRROR_PEER_SPEC', `invalid spec '${spec}'`);
  return { site_name: m[2]!, client_name: m[1] ?? defaultClient };
}

export function requireUuid(uuid: string | undefined): string {
  if (uuid === undefined || uuid === '') throw einval('ERR_MIRROR_PEER_UUID', 'must specify peer uuid');
  if (!UUID_RE.test(uuid)) throw einval('ERR_MIRROR_PEER_UUID', `invalid uuid '${uuid}'`);
  return uuid;
}

/** The keys `mirror pool peer set` accepts here (rbd also has mon-host and key-file). */
export const PEER_SET_KEYS = ['client', 'cluster', 'direction', 'site-name'] as const;
export type PeerSetKey = (typeof PEER_SET_KEYS)[number];

export function parsePeerSetKey(key: string | undefined): PeerSetKey {
  if ((PEER_SET_KEYS as readonly string[]).includes(key ?? '')) return key as PeerSetKey;
  throw einval('ERR_MIRROR_PEER_KEY', `must specify ${PEER_SET_KEYS.map((k) => `'${k}'`).join(', ')} key.`);
}

export function parseDirection(value: string): PeerDirection {
  if (value === 'rx-only' || value === 'rx-tx' || value === 'tx-only') return value;
  throw einval('ERR_MIRROR_PEER_DIRECTION', 'invalid direction');
}

export const notEnabled = (): HostError => einval('ERR_MIRRORING_NOT_ENABLED', 'mirroring not enabled on the pool');
export const multipleRx = (): HostError => einval('ERR_MIRROR_PEER_MULTIPLE_RX', 'multiple RX peers are not currently supported');
export const peersRegistered = (): HostError => errno('EBUSY', 'ERR_MIRROR_PEERS_REGISTERED', 'mirror peers still registered');
export const peerNotFound = (uuid: string): HostError => errno('ENOENT', 'ERR_MIRROR_PEER_NOT_FOUND', `mirror peer ${uuid} does not exist`);
export const peerExists = (): HostError => errno('EEXIST', 'ERR_MIRROR_PEER_EXISTS', 'mirror peer already exists');
export const selfPeer = (what: 'add' | 'set'): HostError =>
  einval('ERR_MIRROR_PEER_SELF', what === 'add'
    ? 'cannot add self as remote peer; error adding mirror peer'
    : 'cannot set self as remote peer');
