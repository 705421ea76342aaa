/**
 * rbd-mirror's admin-socket commands (`MirrorAdminSocketHook`, `PoolReplayerAdminSocketHook`,
 * `ImageReplayerAdminSocketHook`): `rbd mirror status|restart|flush|start|stop`, for the
 * whole daemon, one pool or one image:
 *
 *   rbdm daemon SOCKET rbd mirror status                      every pool replayer
 *   rbdm daemon SOCKET rbd mirror status image-pool [local]   one pool (and its peer's site)
 *   rbdm daemon SOCKET rbd mirror flush image-pool/image-1    one image
 *
 * As rbd-mirror does, the per-pool (`POOL SITE`) and per-image (`POOL/IMAGE`) forms are also
 * registered as commands of their own while the pool or image is replayed here, so `help`
 * lists them and `ceph --admin-daemon` (which checks `get_command_descriptions`) accepts
 * them; the daemon-wide command takes the same targets as trailing words. A pool or image
 * this daemon does not replay is ENOENT.
 */
import { err, type AdminSocketApi } from '../../host/index.js';
import type { ReplayDeps } from './deps.js';
import type { ImageReplayer } from './image-replayer/image-replayer.js';
import type { Mirror } from './mirror.js';
import type { PoolReplayer } from './pool-replayer.js';

const VERBS = {
  status: 'get status for rbd mirror',
  restart: 'restart rbd mirror',
  flush: 'flush rbd mirror',
  start: 'start rbd mirror',
  stop: 'stop rbd mirror',
} as const;
type Verb = keyof typeof VERBS;

const SYNC_MS = 1_000;

/** rbd-mirror's `ImageReplayer` state names. */
const STATE_NAMES: Record<string, string> = {
  stopped: 'Stopped', starting: 'Starting', syncing: 'Starting', replaying: 'Replaying', stopping: 'Stopping', error: 'Stopped',
};

interface Target {
  pool?: PoolReplayer;
  image?: { ir: ImageReplayer; name: string };
}

export class MirrorAdminCommands {
  private readonly registered = new Map<string, () => void>();
  /** Per pool: the peer's image id → name (the replica has the same name). */
  private readonly names = new Map<string, Map<string, string>>();
  private timer: NodeJS.Timeout | undefined;
  private syncing = false;

  constructor(private readonly asok: AdminSocketApi, private readonly mirror: Mirror, private readonly d: ReplayDeps) {}

  start(): void {
    for (const [verb, desc] of Object.entries(VERBS) as [Verb, string][]) {
      this.add(`rbd mirror ${verb}`, desc, (args) => this.run(verb, args));
    }
    this.timer = setInterval(() => void this.sync(), SYNC_MS);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    for (const remove of this.registered.values()) remove();
    this.registered.clear();
  }

  private add(prefix: string, desc: string, run: (args: string[]) => Promise<unknown>): void {
    try {
      this.registered.set(prefix, this.asok.register({
        prefix, desc,
        handler: (cmd) => run(Array.isArray(cmd['args']) ? (cmd['args'] as unknown[]).map(String) : []),
      }));
    } catch (e) {
      this.d.log.warn(`admin socket: ${(e as Error).message}`);
    }
  }

  /** Adds the per-pool and per-image commands of what is replayed now, drops the others. */
  private async sync(): Promise<void> {
    if (this.syncing) return;
    this.syncing = true;
    try {
      const want = new Map<string, [Verb, string[]]>();
      for (const pr of this.mirror.poolReplayers.values()) {
        for (const verb of Object.keys(VERBS) as Verb[]) want.set(`rbd mirror ${verb} ${pr.pool} ${pr.peer.site_name}`, [verb, [pr.pool, pr.peer.site_name]]);
        for (const ir of pr.imageReplayers.values()) {
          const name = await this.imageName(pr, ir);
          if (name === undefined) continue;
          for (const verb of Object.keys(VERBS) as Verb[]) want.set(`rbd mirror ${verb} ${pr.pool}/${name}`, [verb, [`${pr.pool}/${name}`]]);
        }
      }
      for (const [prefix, remove] of this.registered) {
        if (prefix.split(' ').length > 3 && !want.has(prefix)) {
          remove();
          this.registered.delete(prefix);
        }
      }
      for (const [prefix, [verb, target]] of want) {
        if (this.registered.has(prefix)) continue;
        this.add(prefix, `${VERBS[verb]} ${target.join(' ')}`, (args) => this.run(verb, [...target, ...args]));
      }
    } catch (e) {
      this.d.log.warn(`admin socket commands: ${(e as Error).message}`);
    } finally {
      this.syncing = false;
    }
  }

  /** The image's name, from a cached listing of the peer's pool (relisted for unknown ids). */
  private async imageName(pr: PoolReplayer, ir: ImageReplayer): Promise<string | undefined> {
    let names = this.names.get(pr.pool);
    if (!names?.has(ir.remoteImageId)) {
      const remote = pr.remoteCluster;
      if (!remote) return undefined;
      names = new Map((await this.d.images.listImages(remote, pr.pool)).map((e) => [e.id, e.name]));
      this.names.set(pr.pool, names);
    }
    return names.get(ir.remoteImageId);
  }

  /** `[]` all pools; `[POOL]` or `[POOL, SITE]` one pool; `[POOL/IMAGE]` one image. */
  private async resolve(args: string[]): Promise<Target> {
    if (args.length === 0) return {};
    if (args.length > 2 || (args.length === 2 && args[0]!.includes('/'))) {
      throw err('ERR_INVALID_ARGUMENT', `unexpected arguments '${args.join(' ')}': expected POOL [SITE] or POOL/IMAGE`);
    }
    const [spec, site] = args as [string, string | undefined];
    const slash = spec.indexOf('/');
    const poolName = slash < 0 ? spec : spec.slice(0, slash);
    const pool = this.mirror.poolReplayers.get(poolName);
    if (!pool) throw err('ERR_POOL_NOT_FOUND', `pool '${poolName}' is not replayed by this daemon`);
    if (site !== undefined && site !== pool.peer.site_name) {
      throw err('ERR_POOL_NOT_FOUND', `pool '${poolName}' does not replay from peer site '${site}' (its peer is '${pool.peer.site_name}')`);
    }
    if (slash < 0) return { pool };
    const imageName = spec.slice(slash + 1);
    for (const ir of pool.imageReplayers.values()) {
      if ((await this.imageName(pool, ir)) === imageName) return { pool, image: { ir, name: imageName } };
    }
    throw err('ERR_IMAGE_NOT_FOUND', `image '${spec}' is not replayed by this daemon (not mirrored, or replayed by another daemon)`);
  }

  private async run(verb: Verb, args: string[]): Promise<unknown> {
    const target = await this.resolve(args);
    const pools = target.pool ? [target.pool] : [...this.mirror.poolReplayers.values()];
    if (verb === 'status') {
      if (target.image) return this.imageStatus(target.pool!, target.image.ir, target.image.name);
      if (target.pool) return this.poolStatus(target.pool);
      return { pool_replayers: await Promise.all(pools.map((pr) => this.poolStatus(pr))) };
    }
    const images = target.image ? [target.image.ir] : pools.flatMap((pr) => [...pr.imageReplayers.values()]);
    this.d.log.info(`admin socket: rbd mirror ${verb}${args.length ? ` ${args.join(' ')}` : ''} (${images.length} image replayers)`);
    await Promise.all(images.map(async (ir) => {
      switch (verb) {
        case 'flush': return ir.flush();
        case 'stop': return ir.stop();
        case 'start': return ir.start();
        case 'restart':
          await ir.stop();
          return ir.start();
      }
    }));
    return '';
  }

  private async poolStatus(pr: PoolReplayer): Promise<Record<string, unknown>> {
    const { instances, leader } = pr.leases?.instances ?? { instances: [], leader: '' };
    const images = [];
    for (const ir of pr.imageReplayers.values()) images.push(await this.imageStatus(pr, ir, await this.imageName(pr, ir).catch(() => undefined)));
    return {
      peer: `uuid: ${pr.peer.uuid} cluster: ${pr.peer.site_name} client: ${pr.peer.client_name}`,
      pool: pr.pool,
      instance_id: this.d.local.instanceId,
      state: 'running',
      leader_instance_id: leader,
      leader: leader === this.d.local.instanceId,
      instances,
      image_replayers: images,
      namespaces: [],
    };
  }

  private imageStatus(pr: PoolReplayer, ir: ImageReplayer, name: string | undefined): Record<string, unknown> {
    const desc = ir.describe();
    return {
      name: `${pr.pool}/${name ?? ir.globalId}`,
      state: STATE_NAMES[ir.state] ?? ir.state,
      global_id: ir.globalId,
      ...(desc !== undefined ? { description: desc } : {}),
    };
  }
}
