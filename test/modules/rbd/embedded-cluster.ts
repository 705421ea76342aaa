/**
 * A real embedded cluster in a temp dir for the rbd tests, plus an image library bound to
 * a conf of the test's choosing and its own hook registry.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEmbeddedCluster, embeddedBackend, generateCephxKey } from '../../../host/cluster/embedded/index.js';
import type { Cluster } from '../../../host/index.js';
import { ImageHooks } from '../../../modules/rbd/hooks.js';
import { ImageLibrary } from '../../../modules/rbd/images-service.js';

export interface TestCluster {
  dir: string;
  dataDir: string;
  key: string;
  /** Connected as client.admin, with pool `rbd` created. */
  cluster: Cluster;
  /** Another connection (another instance id), closed at teardown. */
  connect(): Promise<Cluster>;
  /** Closes `x` at teardown, before the connections shut down. */
  track<T extends { close(): Promise<void> }>(x: T): T;
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

export async function embeddedCluster(t: Teardown, pools: string[] = ['rbd']): Promise<TestCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'rbdm-rbd-'));
  const dataDir = join(dir, 'data');
  const key = generateCephxKey();
  await createEmbeddedCluster(dataDir, { fsid: randomUUID(), adminKey: key });
  const open: Cluster[] = [];
  const handles: Array<{ close(): Promise<void> }> = [];
  const connect = async () => {
    const c = await embeddedBackend.connect({
      clusterName: 'test', conf: { global: { data_dir: dataDir } }, confPath: '', entity: 'client.admin', key,
    });
    open.push(c);
    return c;
  };
  const cluster = await connect();
  for (const p of pools) await cluster.createPool(p);
  t.teardown(async () => {
    for (const h of handles.reverse()) await h.close();
    for (const c of open.reverse()) await c.shutdown().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });
  const track = <T extends { close(): Promise<void> }>(x: T): T => {
    handles.push(x);
    return x;
  };
  return { dir, dataDir, key, cluster, connect, track };
}

export function library(conf: Record<string, string> = {}, opts: { hooks?: ImageHooks; lockWaitTimeoutMs?: number } = {}): ImageLibrary {
  return new ImageLibrary({
    conf: { get: (k: string) => conf[k] },
    hooks: opts.hooks ?? new ImageHooks(),
    ...(opts.lockWaitTimeoutMs !== undefined ? { lockWaitTimeoutMs: opts.lockWaitTimeoutMs } : {}),
  });
}

/** Object names of a pool, sorted. */
export async function objectsOf(cluster: Cluster, pool: string): Promise<string[]> {
  const io = await cluster.ioctx(pool);
  try {
    const out: string[] = [];
    for await (const o of io.listObjects()) out.push(o);
    return out.sort();
  } finally {
    await io.close();
  }
}
