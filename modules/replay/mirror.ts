/**
 * The daemon's top level (rbd-mirror's `Mirror`): every 5 s, finds the pools with mirroring
 * enabled and a peer to replay from, starts or stops their `PoolReplayer`s, and writes the
 * daemon's heartbeat into those pools. On shutdown: stops all and drops the heartbeat.
 */
import { hostname } from 'node:os';
import { readFileSync } from 'node:fs';
import type { ReplayDeps } from './deps.js';
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

export class Mirror {
  private readonly pools = new Map<string, PoolReplayer>();
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
    await Promise.all([...this.pools.values()].map((pr) => pr.stop()));
    for (const pool of this.pools.keys()) {
      await this.d.records.removeHeartbeat(this.d.local, pool, this.d.local.instanceId).catch(() => undefined);
    }
    this.pools.clear();
  }

  private async refreshPools(): Promise<void> {
    const seen = new Set<string>();
    for (const { name } of await this.d.local.listPools()) {
      const m = await this.d.mirroring.getPoolMirroring(this.d.local, name).catch(() => undefined);
      const peer = m && m.mode !== 'disabled' ? m.peers.find((p) => p.direction !== 'tx-only' && p.client_name !== '') : undefined;
      if (!peer) continue;
      seen.add(name);
      const cur = this.pools.get(name);
      if (cur && cur.peer.uuid === peer.uuid && cur.peer.client_name === peer.client_name) continue;
      if (cur) await cur.stop();
      const pr = new PoolReplayer(this.d, name, peer);
      try {
        await pr.start();
        this.pools.set(name, pr);
      } catch (e) {
        this.d.log.warn(`pool ${name}: cannot replay from peer ${peer.site_name}: ${(e as Error).message}`);
        this.pools.delete(name);
        await pr.stop();
      }
    }
    for (const [name, pr] of this.pools) {
      if (!seen.has(name)) {
        this.pools.delete(name);
        await pr.stop();
      }
    }
  }

  private async heartbeat(): Promise<void> {
    // One write per pool: `leader` is per pool (its leader lease, image-leases.ts).
    for (const [pool, pr] of this.pools) {
      await this.d.records.writeHeartbeat(this.d.local, {
        instance_id: this.d.local.instanceId,
        entity: this.d.local.entity,
        hostname: hostname(),
        pid: process.pid,
        version: this.version,
        leader: pr.leases?.leader ?? false,
        health: 'OK',
        pools: [pool],
      });
    }
  }
}
