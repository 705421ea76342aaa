/**
 * The `records` service of module `status`: what the replay daemon (writers) and other
 * readers get from `ctx.service('status', 'records')` (list `status` in `dependencies`).
 *
 * Types only: other modules `import type` from this file.
 *
 * Storage (one pool, single-object operations only):
 * - image statuses: omap of the pool's `rbd_mirroring` object, key
 *   `status_global_<global_id>_<mirror_uuid>` (this site's mirror uuid), value JSON
 *   `ImageStatusRecord`. Each daemon writes only into its own cluster.
 * - daemon heartbeats: omap of the pool's `rbd_mirror_daemons` object, key
 *   `daemon_<instance_id>`, value JSON `HeartbeatRecord`; stale after `ttl_ms`.
 * - every write notifies watchers of `rbd_mirror_daemons` with a `StatusEvent` (a cue only),
 *   so the configuration watchers of `rbd_mirroring` are not woken by status traffic.
 */
import type { Cluster, WatchHandle } from '../../host/index.js';

/** rbd's `MirrorImageStatusState`, in enum order (the summary folds with a numeric min). */
export const STATUS_STATES = ['unknown', 'error', 'syncing', 'starting_replay', 'replaying', 'stopping_replay', 'stopped'] as const;
export type StatusState = (typeof STATUS_STATES)[number];

export type Health = 'OK' | 'UNKNOWN' | 'WARNING' | 'ERROR';

/** One site's status of one image, as stored. */
export interface ImageStatusRecord {
  global_id: string;
  state: StatusState;
  /** rbd's wording, e.g. `local image is primary`, `replaying, {"bytes_per_second":0.0,…}`. */
  description: string;
  /** ms since the epoch, stamped by the writer. */
  last_update: number;
  /** The writing daemon's connection instance id: `up` iff its heartbeat is live. */
  instance_id: string;
  /** The writing site (the pool's site name and mirror uuid when written). */
  site_name: string;
  mirror_uuid: string;
}

/** What a daemon passes to `writeImageStatus`; site and time are filled in by the writer. */
export interface ImageStatusInput {
  global_id: string;
  state: StatusState;
  description: string;
  instance_id: string;
}

/** One daemon's liveness and health, per pool it serves. */
export interface HeartbeatRecord {
  instance_id: string;
  /** rbd's `service_id` (the daemon's registration id); defaults to the instance id. */
  service_id: string;
  /** e.g. `client.rbd-mirror.a`; rbd shows the id after `rbd-mirror.` (`a`). */
  entity: string;
  hostname: string;
  pid: number;
  version: string;
  leader: boolean;
  health: 'OK' | 'WARNING' | 'ERROR';
  callouts: string[];
  /** ms since the epoch, stamped by the writer. */
  last_update: number;
  /** The heartbeat counts as live until `last_update + ttl_ms` (default 30 s). */
  ttl_ms: number;
}

export interface HeartbeatInput {
  instance_id: string;
  service_id?: string;
  entity: string;
  hostname: string;
  pid: number;
  version: string;
  leader: boolean;
  health: 'OK' | 'WARNING' | 'ERROR';
  callouts?: string[];
  ttl_ms?: number;
  /** The pools this daemon serves: the heartbeat is written into each. */
  pools: string[];
}

/** One site's status as readers see it. */
export interface SiteStatus {
  site_name: string;
  mirror_uuid: string;
  state: StatusState;
  description: string;
  /** undefined when no record was found. */
  last_update: number | undefined;
  /** A live daemon heartbeat wrote it. */
  up: boolean;
  /** The writer's heartbeat (live or stale) when known. */
  daemon: HeartbeatRecord | undefined;
  /** Why the state is unknown when it is (no record, no live daemon, peer unreachable). */
  unknown_reason: string | undefined;
}

export interface ImageStatusView {
  global_id: string;
  local: SiteStatus;
  /** One per peer site that should report (rx-tx and tx-only peers). */
  peers: SiteStatus[];
  /** rbd's summary state of the image (cls `compute_image_status_summary_state`). */
  summary: StatusState;
  /** Why the summary is `unknown`, when it is. */
  unknown_reason: string | undefined;
}

export interface DaemonView extends HeartbeatRecord {
  live: boolean;
}

export interface PoolStatusView {
  pool: string;
  site_name: string;
  health: Health;
  daemon_health: Health;
  image_health: Health;
  states: Partial<Record<StatusState, number>>;
  /** reason → number of images unknown for it. */
  unknown_reasons: Record<string, number>;
  daemons: DaemonView[];
  images: Array<{ name: string; view: ImageStatusView }>;
}

export interface StatusEvent {
  event: 'image_status_updated' | 'image_status_removed' | 'heartbeat';
  pool: string;
  /** Global id for image events, instance id for heartbeats. */
  id: string;
}

export interface StatusService {
  /** Writes this site's status of an image (EINVAL unless pool mirroring is enabled). */
  writeImageStatus(cluster: Cluster, pool: string, record: ImageStatusInput): Promise<ImageStatusRecord>;
  /** Removes this site's status of an image (absent is fine). */
  removeImageStatus(cluster: Cluster, pool: string, globalId: string): Promise<void>;
  /** Writes the heartbeat into every pool of `record.pools`. */
  writeHeartbeat(cluster: Cluster, record: HeartbeatInput): Promise<HeartbeatRecord>;
  /** A clean daemon shutdown drops its heartbeat at once instead of letting it expire. */
  removeHeartbeat(cluster: Cluster, pool: string, instanceId: string): Promise<void>;
  /** This site's status of one image plus its peer sites' (read through peer connections). */
  readImageStatus(cluster: Cluster, pool: string, globalId: string): Promise<ImageStatusView>;
  /** Summary, daemons and every mirrored image's status. Reads only. */
  readPoolStatus(cluster: Cluster, pool: string): Promise<PoolStatusView>;
  /** Calls `cb` on every status or heartbeat write in the pool (by any process). */
  watch(cluster: Cluster, pool: string, cb: (ev: StatusEvent) => void): Promise<WatchHandle>;
}
