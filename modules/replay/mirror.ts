/**
 * The daemon's top level (rbd-mirror's `Mirror`): every 5 s, finds the pools with mirroring
 * enabled and a peer to replay from, keeps a `PeerConnection` per pool (which starts the
 * pool's `PoolReplayer` while the peer answers and stops it when it does not), and writes the
 * daemon's heartbeat into those pools (WARNING with a callout while a peer is unreachable).
 * On shutdown: stops all and drops the heartbeat.
 */
import { hostname } from 'node:os';
import { readFileSync } from 'node:fs';
import type { ReplayDeps } from './deps.js';
import type { MirrorPeer } from '../pool-config/api.js';
import { PeerConnection } from './peer-connection.js';
import { PoolReplayer } from './pool-replayer.js';

export const HEARTBEAT_MS = 5_000;

function version(): string {
  for (const rel of ['../../package.json', '../../../package.json']) {
    try {
      return (JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { version: string }).version;
    } catch {
      // next layout (dist/modules vs modules)
    }
  }
  return '0.0.0';
}

/**
 * Waits `ms` or until `signal` aborts, checking every 100 ms: no listener on the host's
 * signal, which every serving module shares (Node warns past 10 listeners).
 */
async function sleep(ms: number, signal: AbortSignal): Promise<void> {
  const end = Date.now() + ms;
  while (!signal.aborted && Date.now() < end) await new Promise((r) => setTimeout(r, Math.min(100, end - Date.now())));
}

/** How long a pool replayer may take to stop when its peer went away (ops may hang there). */
const STOP_TIMEOUT_MS = 15_000;

export class Mirror {
  /** The running pool replayers (their peer answers). */
  private readonly pools = new Map<string, PoolReplayer>();
  /** Every pool to replay, with its peer's reachability (peer-connection.ts). */
  private readonly peers = new Map<string, PeerConnection>();
  private readonly version = version();

  constructor(private readonly d: ReplayDeps) {}

  /** The running pool replayers by pool name (admin socket, admin-commands.ts). */
  get poolReplayers(): ReadonlyMap<string, PoolReplayer> {
    return this.pools;
  }

  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await this.refreshPools();
        for (const pr of this.pools.values()) pr.tick();
        await this.heartbeat();
      } catch (e) {
        this.d.log.warn(`mirror refresh: ${(e as Error).message}`);
      }
      await sleep(HEARTBEAT_MS, signal);
    }
    await Promise.all([...this.peers.values()].map((pc) => pc.stop()));
    await Promise.all([...this.pools.keys()].map((pool) => this.stopReplayer(pool)));
    for (const pool of this.peers.keys()) {
      await this.d.records.removeHeartbeat(this.d.local, pool, this.d.local.instanceId).catch(() => undefined);
    }
    this.peers.clear();
  }

  private async refreshPools(): Promise<void> {
    const seen = new Set<string>();
    for (const { name } of await this.d.local.listPools()) {
      const m = await this.d.mirroring.getPoolMirroring(this.d.local, name).catch(() => undefined);
      const peer = m && m.mode !== 'disabled' ? m.peers.find((p) => p.direction !== 'tx-only' && p.client_name !== '') : undefined;
      if (!peer) continue;
      seen.add(name);
      const cur = this.peers.get(name);
      if (cur && cur.peer.uuid === peer.uuid && cur.peer.client_name === peer.client_name) continue;
      if (cur) await this.forget(name, cur);
      const pc = new PeerConnection(this.d, name, peer, {
        up: () => this.startReplayer(name, peer),
        down: (callout) => this.peerDown(name, callout),
      });
      this.peers.set(name, pc);
      pc.start();
    }
    for (const [name, pc] of this.peers) {
      if (!seen.has(name)) await this.forget(name, pc);
    }
  }

  private async forget(pool: string, pc: PeerConnection): Promise<void> {
    this.peers.delete(pool);
    await pc.stop();
    await this.stopReplayer(pool);
  }

  private async startReplayer(pool: string, peer: MirrorPeer): Promise<void> {
    await this.stopReplayer(pool);
    const pr = new PoolReplayer(this.d, pool, peer);
    try {
      await pr.start();
    } catch (e) {
      await pr.stop().catch(() => undefined);
      throw e;
    }
    this.pools.set(pool, pr);
    await this.heartbeat().catch(() => undefined);
  }

  private async stopReplayer(pool: string): Promise<void> {
    const pr = this.pools.get(pool);
    if (!pr) return;
    this.pools.delete(pool);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      pr.stop().catch((e: unknown) => this.d.log.warn(`pool ${pool}: stopping replay: ${(e as Error).message}`)),
      new Promise<void>((r) => (timer = setTimeout(() => {
        this.d.log.warn(`pool ${pool}: replay did not stop within ${STOP_TIMEOUT_MS} ms; left behind`);
        r();
      }, STOP_TIMEOUT_MS))),
    ]).finally(() => clearTimeout(timer));
  }

  /**
   * The peer went away: replay stops, and the replicas' statuses stop claiming `replaying`
   * (`unknown` with the callout, as a stopped replayer that cannot reach the peer); the
   * heartbeat says WARNING with the callout at once.
   */
  private async peerDown(pool: string, callout: string): Promise<void> {
    await this.stopReplayer(pool);
    await this.heartbeat().catch(() => undefined);
    for (const rec of await this.d.state.listMirroredImages(this.d.local, pool)) {
      if (rec.primary || rec.state !== 'enabled') continue;
      await this.d.records.writeImageStatus(this.d.local, pool, {
        global_id: rec.globalId, state: 'unknown', description: callout, instance_id: this.d.local.instanceId,
      }).catch((e: unknown) => this.d.log.warn(`status of ${pool} ${rec.globalId}: ${(e as Error).message}`));
    }
  }

  private async heartbeat(): Promise<void> {
    // One write per pool: `leader` is per pool (its leader lease, image-leases.ts); health
    // and callout from the peer's reachability (peer-connection.ts).
    for (const [pool, pc] of this.peers) {
      const pr = this.pools.get(pool);
      await this.d.records.writeHeartbeat(this.d.local, {
        instance_id: this.d.local.instanceId,
        entity: this.d.local.entity,
        hostname: hostname(),
        pid: process.pid,
        version: this.version,
        leader: pr?.leases?.leader ?? false,
        health: pc.callout === undefined ? 'OK' : 'WARNING',
        callouts: pc.callout === undefined ? [] : [pc.callout],
        pools: [pool],
      });
    }
  }
}
