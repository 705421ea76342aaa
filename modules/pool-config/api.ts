/**
 * The `mirroring` service of module `pool-config`: what other modules get from
 * `ctx.service('pool-config', 'mirroring')` (list `pool-config` in `dependencies`).
 *
 * Types only: other modules `import type` from this file (nothing of this module runs
 * through such an import) or declare the subset they use structurally.
 */
import type { Cluster, ConfView, WatchHandle } from '../../host/index.js';

/** A pool's mirroring mode, in rbd's words. */
export type MirrorMode = 'disabled' | 'image' | 'pool';

/** rbd's peer directions; `rbdm mirror pool peer add` creates `rx-tx` peers. */
export type PeerDirection = 'rx-only' | 'tx-only' | 'rx-tx';

/** A peer site of a pool, with rbd's JSON keys (`mirror pool info --format json`). */
export interface MirrorPeer {
  uuid: string;
  direction: PeerDirection;
  /** The peer's site name; for peers added as `client.X@NAME` also its cluster (conf) name. */
  site_name: string;
  /** The peer pool's mirror uuid, '' until a replay daemon has learnt it. */
  mirror_uuid: string;
  /** Entity to connect to the peer as, e.g. `client.remote` ('' for tx-only peers). */
  client_name: string;
}

/** A pool's mirroring configuration: its site identity and its peers. */
export interface PoolMirroring {
  pool: string;
  mode: MirrorMode;
  /** '' while disabled. Default at enable: the cluster's name from its conf. */
  site_name: string;
  /** '' while disabled; a random uuid generated when mirroring is enabled, kept until disabled. */
  mirror_uuid: string;
  peers: MirrorPeer[];
}

/** What `setPoolMode` did. */
export interface ModeResult {
  previous: MirrorMode;
  mode: MirrorMode;
  /** The site name was set to a new value by `opts.siteName`. */
  siteNameChanged: boolean;
}

/** A mode change as mode hooks see it. */
export interface ModeChange {
  cluster: Cluster;
  pool: string;
  from: MirrorMode;
  to: MirrorMode;
}

/**
 * Work other modules attach to pool mode changes (librbd's `mode_set` side effects):
 * disabling pool mirroring disables mirroring of the pool's images (`beforeModeChange`, while
 * the pool is still enabled; a throw refuses the change with nothing changed in the pool's
 * configuration); switching to pool mode enables it on journaled images (`afterModeChange`).
 * A concurrent configuration change makes the operation re-read and re-run, so hooks may run
 * more than once for one command and must be idempotent.
 */
export interface ModeHook {
  /** Unique; registering a name again replaces the earlier hook. */
  name: string;
  /** Lower runs first. */
  order: number;
  beforeModeChange?(change: ModeChange): Promise<void>;
  afterModeChange?(change: ModeChange): Promise<void>;
}

/** The notify payload on the pool's `rbd_mirroring` object after every configuration change. */
export interface MirroringEvent {
  event: 'mode_updated' | 'peers_updated' | 'site_updated';
  pool: string;
  /** The mode after the change. */
  mode: MirrorMode;
}

/** Fields of a peer that `updatePeer` may change. */
export interface PeerChanges {
  site_name?: string;
  client_name?: string;
  direction?: PeerDirection;
  mirror_uuid?: string;
}

/** The `mirroring` service. Errors are HostErrors with rbd's wording (see README.md). */
export interface PoolMirroringService {
  /** ENOENT when the pool does not exist; mode `disabled` when mirroring was never enabled. */
  getPoolMirroring(cluster: Cluster, pool: string): Promise<PoolMirroring>;
  listPeers(cluster: Cluster, pool: string): Promise<MirrorPeer[]>;
  /**
   * Enables (`image`/`pool`), switches or disables (`disabled`) mirroring of a pool, running
   * the mode hooks. `siteName` defaults to the site name already set, else to the name of
   * this host's cluster (`ctx.conf.clusterName`). Disabling is EBUSY while peers remain.
   */
  setPoolMode(cluster: Cluster, pool: string, mode: MirrorMode, opts?: { siteName?: string }): Promise<ModeResult>;
  /** Adds an rx-tx (or rx-only) peer; returns its new uuid. */
  addPeer(cluster: Cluster, pool: string, peer: { site_name: string; client_name: string; direction?: PeerDirection }): Promise<string>;
  /** Unknown uuids are ignored, as rbd does. */
  removePeer(cluster: Cluster, pool: string, uuid: string): Promise<void>;
  /** ENOENT for an unknown uuid. The replay daemon records a peer's `mirror_uuid` here. */
  updatePeer(cluster: Cluster, pool: string, uuid: string, changes: PeerChanges): Promise<void>;
  /**
   * Connects to a peer as Ceph resolves it: `<site_name>.conf` and
   * `<site_name>.<client_name>.keyring` in the conf directory.
   */
  connectPeer(peer: MirrorPeer): Promise<Cluster>;
  /**
   * The data pool for a replica created on `destination` (the seed's DATA POOLS rules):
   * `rbd default data pool` of the destination's conf (default: this host's conf); else the
   * source image's data pool if a pool of that name exists on the destination; else none.
   */
  selectDataPool(destination: Cluster, sourceDataPool: string | undefined, destinationConf?: Pick<ConfView, 'get'>): Promise<string | undefined>;
  /**
   * Watches the pool's `rbd_mirroring` object: `cb` runs on every configuration change (by
   * any process). Re-read with `getPoolMirroring`; the event is only a cue.
   */
  watchPoolMirroring(cluster: Cluster, pool: string, cb: (event: MirroringEvent) => void): Promise<WatchHandle>;
  /** @returns a function that unregisters the hook. */
  registerModeHook(hook: ModeHook): () => void;
}
