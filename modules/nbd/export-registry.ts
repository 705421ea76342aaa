/**
 * Which `nbd serve` processes are running: each registers its export as one omap entry
 * of the object `rbdm_nbd_exports` in the image's pool, and keeps a watch on that object
 * for as long as it serves. `nbd list` shows the entries whose watch is still there (the
 * store drops the watches of a dead client, as the exclusive lock's liveness check relies
 * on) and, on the same host, whose pid still runs; other entries are pruned. The entry is
 * removed on a clean exit.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Cluster, IoCtx, WatchHandle } from '../../host/index.js';

export const REGISTRY_OBJECT = 'rbdm_nbd_exports';

export interface ExportEntry {
  pool: string;
  image: string;
  export_name: string;
  /** `127.0.0.1:10809` or `unix:/path`. */
  address: string;
  read_only: boolean;
  pid: number;
  host: string;
  /** ms since the epoch. */
  started: number;
  /** The serving client's watch on the registry object: its liveness. */
  instance_id: string;
  watch_cookie: string;
}

export interface Registration {
  /** Removes the entry and the watch; errors are the caller's to report. */
  remove(): Promise<void>;
}

export async function register(
  ioctx: IoCtx,
  entry: Omit<ExportEntry, 'pid' | 'host' | 'started' | 'instance_id' | 'watch_cookie'>,
  instanceId: string,
): Promise<Registration> {
  // The watch needs the object; creating it non-exclusively is a no-op when it exists.
  await ioctx.operate(REGISTRY_OBJECT, { steps: [{ op: 'create', exclusive: false }] });
  const watch: WatchHandle = await ioctx.watch(REGISTRY_OBJECT, () => undefined, () => undefined);
  const key = `${hostname()}.${process.pid}.${randomBytes(4).toString('hex')}`;
  const full: ExportEntry = {
    ...entry,
    pid: process.pid,
    host: hostname(),
    started: Date.now(),
    instance_id: instanceId,
    watch_cookie: watch.cookie,
  };
  try {
    await ioctx.omapSet(REGISTRY_OBJECT, new Map([[key, Buffer.from(JSON.stringify(full))]]));
  } catch (e) {
    await watch.close().catch(() => undefined);
    throw e;
  }
  return {
    remove: async () => {
      try {
        await ioctx.omapRemoveKeys(REGISTRY_OBJECT, [key]);
      } finally {
        await watch.close();
      }
    },
  };
}

/** Live entries of every pool (or one), oldest first; dead ones are pruned on the way. */
export async function listExports(cluster: Cluster, pool?: string): Promise<ExportEntry[]> {
  const pools = pool !== undefined ? [pool] : (await cluster.listPools()).map((p) => p.name);
  const out: ExportEntry[] = [];
  for (const name of pools) {
    let ioctx: IoCtx;
    try {
      ioctx = await cluster.ioctx(name);
    } catch (e) {
      if (pool !== undefined) throw e;
      continue; // removed meanwhile
    }
    try {
      out.push(...(await liveEntries(ioctx)));
    } finally {
      await ioctx.close();
    }
  }
  return out.sort((a, b) => a.started - b.started);
}

async function liveEntries(ioctx: IoCtx): Promise<ExportEntry[]> {
  const entries = new Map<string, ExportEntry | undefined>();
  try {
    let after: string | undefined;
    for (;;) {
      const page = await ioctx.omapGetVals(REGISTRY_OBJECT, { ...(after !== undefined ? { after } : {}), max: 512 });
      for (const [k, v] of page.entries) entries.set(k, parseEntry(v));
      if (!page.more || page.entries.size === 0) break;
      after = [...page.entries.keys()].pop();
    }
  } catch (e) {
    if ((e as { errno?: string }).errno === 'ENOENT') return [];
    // A client without read caps on this pool sees no exports there.
    if ((e as { errno?: string }).errno === 'EACCES') return [];
    throw e;
  }
  if (entries.size === 0) return [];
  const watchers = new Set((await ioctx.listWatchers(REGISTRY_OBJECT)).map((w) => `${w.instanceId}/${w.cookie}`));
  const live: ExportEntry[] = [];
  const dead: string[] = [];
  for (const [k, e] of entries) {
    if (e && watchers.has(`${e.instance_id}/${e.watch_cookie}`) && pidAlive(e)) live.push(e);
    else dead.push(k);
  }
  if (dead.length > 0) {
    // Best effort: a read-only client cannot prune, and the next lister will.
    await ioctx.omapRemoveKeys(REGISTRY_OBJECT, dead).catch(() => undefined);
  }
  return live;
}

function parseEntry(v: Buffer): ExportEntry | undefined {
  try {
    const e = JSON.parse(v.toString('utf8')) as ExportEntry;
    return typeof e.pid === 'number' && typeof e.watch_cookie === 'string' ? e : undefined;
  } catch {
    return undefined;
  }
}

/** Only a pid on this host can be checked; elsewhere the watch decides alone. */
function pidAlive(e: ExportEntry): boolean {
  if (e.host !== hostname()) return true;
  try {
    process.kill(e.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // alive, another user's
  }
}
