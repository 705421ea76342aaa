/**
 * The pool mirroring operations behind both the commands and the `mirroring` service:
 * librbd's `mode_set`, `peer_site_add/remove/set_*` with rbd's checks, each one guarded
 * read-modify-write of the pool's `rbd_mirroring` object (mirroring-store.ts).
 */
import { randomUUID } from 'node:crypto';
import type { Cluster, ConfView, IoCtx, Logger, WriteStep } from '../../host/index.js';
import type { MirrorMode, MirrorPeer, ModeChange, ModeResult, PeerChanges, PeerDirection, PoolMirroring } from './api.js';
import { runAfterModeChange, runBeforeModeChange } from './mode-hooks.js';
import { KEY_MODE, KEY_SITE, KEY_UUID, PEER_PREFIX, encodePeer, readState, transact, utf8, type Plan, type StoredState } from './mirroring-store.js';
import { multipleRx, notEnabled, peerExists, peerNotFound, peersRegistered, selfPeer } from './rbd-words.js';

export interface OpsDeps {
  conf: ConfView;
  log: Logger;
  /** The in-process cue `mirror_pool_changed` (ctx.emit). */
  emit(type: string, id: string): void;
}

export const POOL_CHANGED = 'mirror_pool_changed';

const noop = <T>(result: T, mode: MirrorMode): Plan<T> => ({ steps: [], result, event: 'mode_updated', mode });
const isRx = (p: MirrorPeer): boolean => p.direction !== 'tx-only';

export class PoolMirroringOps {
  constructor(private readonly deps: OpsDeps) {}

  private async withPool<T>(cluster: Cluster, pool: string, fn: (io: IoCtx) => Promise<T>): Promise<T> {
    const io = await cluster.ioctx(pool);
    try {
      return await fn(io);
    } finally {
      await io.close();
    }
  }

  private change<T>(io: IoCtx, pool: string, plan: (s: StoredState) => Promise<Plan<T>>): Promise<T> {
    return transact(io, pool, plan, (e) => this.deps.log.warn(`notify on ${pool}/rbd_mirroring failed: ${(e as Error).message}`));
  }

  async get(cluster: Cluster, pool: string): Promise<PoolMirroring> {
    const s = await this.withPool(cluster, pool, readState);
    return {
      pool,
      mode: s.mode,
      // A pool enabled before site names were stored still has an identity: the cluster's name.
      site_name: s.mode === 'disabled' ? '' : s.siteName || this.deps.conf.clusterName,
      mirror_uuid: s.mirrorUuid,
      peers: s.peers,
    };
  }

  async setMode(cluster: Cluster, pool: string, mode: MirrorMode, opts: { siteName?: string } = {}): Promise<ModeResult> {
    let change: ModeChange | undefined;
    const result = await this.withPool(cluster, pool, (io) => this.change(io, pool, async (s) => {
      change = undefined;
      const unchanged: ModeResult = { previous: s.mode, mode, siteNameChanged: false };
      if (mode === 'disabled') {
        if (s.mode === 'disabled') return noop(unchanged, mode);
        // librbd's mode_set: fail early while peers remain (tx-only ones included).
        if (s.peers.length > 0) throw peersRegistered();
        change = { cluster, pool, from: s.mode, to: mode };
        await runBeforeModeChange(change);
        return { steps: [{ op: 'omap_rm', keys: [KEY_MODE, KEY_UUID, KEY_SITE] }], result: unchanged, event: 'mode_updated', mode };
      }
      const wanted = opts.siteName || s.siteName || this.deps.conf.clusterName;
      const siteNameChanged = s.mode !== 'disabled' && wanted !== s.siteName;
      if (s.mode === mode && !siteNameChanged) return noop(unchanged, mode);
      const entries = new Map<string, Uint8Array>([[KEY_MODE, utf8(mode)], [KEY_SITE, utf8(wanted)]]);
      // The mirror uuid is born when mirroring is enabled and lives until it is disabled.
      if (s.mode === 'disabled' || s.mirrorUuid === '') entries.set(KEY_UUID, utf8(randomUUID()));
      if (s.mode !== mode) {
        change = { cluster, pool, from: s.mode, to: mode };
        await runBeforeModeChange(change);
      }
      return {
        steps: [{ op: 'omap_set', entries }],
        result: { ...unchanged, siteNameChanged },
        event: s.mode !== mode ? 'mode_updated' : 'site_updated',
        mode,
      };
    }));
    if (change || result.siteNameChanged) this.deps.emit(POOL_CHANGED, pool);
    if (change) await runAfterModeChange(change);
    return result;
  }

  async addPeer(cluster: Cluster, pool: string, peer: { site_name: string; client_name: string; direction?: PeerDirection }): Promise<string> {
    const direction = peer.direction ?? 'rx-tx';
    const uuid = await this.withPool(cluster, pool, (io) => this.change(io, pool, async (s) => {
      if (s.mode === 'disabled') throw notEnabled();
      // rbd's temporary restriction: one receiving peer per pool (tx-only peers do not count).
      if (s.peers.some(isRx)) throw multipleRx();
      if (direction === 'tx-only' || peer.site_name === this.deps.conf.clusterName || peer.site_name === s.siteName) throw selfPeer('add');
      if (s.peers.some((p) => p.site_name === peer.site_name)) throw peerExists();
      const added: MirrorPeer = { uuid: randomUUID(), direction, site_name: peer.site_name, mirror_uuid: '', client_name: peer.client_name };
      const [key, value] = encodePeer(added);
      return { steps: [{ op: 'omap_set', entries: new Map([[key, value]]) }], result: added.uuid, event: 'peers_updated', mode: s.mode };
    }));
    this.deps.emit(POOL_CHANGED, pool);
    return uuid;
  }

  async removePeer(cluster: Cluster, pool: string, uuid: string): Promise<void> {
    const removed = await this.withPool(cluster, pool, (io) => this.change(io, pool, async (s) => {
      if (s.mode === 'disabled') throw notEnabled();
      // rbd: removing an unknown peer succeeds silently (084).
      if (!s.peers.some((p) => p.uuid === uuid)) return noop(false, s.mode);
      return { steps: [{ op: 'omap_rm', keys: [PEER_PREFIX + uuid] }], result: true, event: 'peers_updated', mode: s.mode };
    }));
    if (removed) this.deps.emit(POOL_CHANGED, pool);
  }

  async updatePeer(cluster: Cluster, pool: string, uuid: string, changes: PeerChanges): Promise<void> {
    const updated = await this.withPool(cluster, pool, (io) => this.change(io, pool, async (s) => {
      if (s.mode === 'disabled') throw notEnabled();
      const cur = s.peers.find((p) => p.uuid === uuid);
      if (!cur) throw peerNotFound(uuid);
      const others = s.peers.filter((p) => p.uuid !== uuid);
      const next: MirrorPeer = { ...cur, ...changes, uuid };
      if (changes.site_name !== undefined && changes.site_name !== cur.site_name) {
        if (changes.site_name === this.deps.conf.clusterName || changes.site_name === s.siteName) throw selfPeer('set');
        if (others.some((p) => p.site_name === changes.site_name)) throw peerExists();
      }
      if (changes.direction !== undefined && isRx(next) && others.some(isRx)) throw multipleRx();
      if (JSON.stringify(next) === JSON.stringify(cur)) return noop(false, s.mode);
      const [key, value] = encodePeer(next);
      const steps: WriteStep[] = [{ op: 'omap_set', entries: new Map([[key, value]]) }];
      return { steps, result: true, event: 'peers_updated', mode: s.mode };
    }));
    if (updated) this.deps.emit(POOL_CHANGED, pool);
  }
}
