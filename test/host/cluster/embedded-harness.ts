/**
 * A StoreHarness on a fresh embedded cluster in a temp dir, removed by `cleanup()`.
 */
import Database from 'better-sqlite3';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createEmbeddedCluster, embeddedBackend, generateCephxKey } from '../../../host/cluster/embedded/index.js';
import type { Cluster, ConnectOptions } from '../../../host/cluster/store.js';
import { CONNECT_ENV, type ConnectSpec } from '../../fixtures/store/connect-env.js';
import type { StoreHarness } from './contract-harness.js';

export interface EmbeddedHarness extends StoreHarness {
  dir: string;
  dataDir: string;
  fsid: string;
  connectOptions(entity: string, key: string): ConnectOptions;
}

const BACKEND_MODULE = new URL('../../../host/cluster/embedded/index.js', import.meta.url).href;

export function fixturePath(name: string): string {
  return fileURLToPath(new URL(`../../fixtures/store/${name}.js`, import.meta.url));
}

/** Spawns a fixture connected with `opts`, stdio piped. */
export function spawnFixture(name: string, args: readonly string[], opts: ConnectOptions): ChildProcess {
  const spec: ConnectSpec = { module: BACKEND_MODULE, exportName: 'embeddedBackend', opts };
  return spawn(process.execPath, [fixturePath(name), ...args], {
    env: { ...process.env, [CONNECT_ENV]: JSON.stringify(spec) },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

export async function openEmbeddedHarness(): Promise<EmbeddedHarness> {
  const dir = mkdtempSync(join(tmpdir(), 'rbdm-store-'));
  const dataDir = join(dir, 'data');
  const fsid = randomUUID();
  const adminKey = generateCephxKey();
  await createEmbeddedCluster(dataDir, { fsid, adminKey });
  const connectOptions = (entity: string, key: string): ConnectOptions => ({
    clusterName: 'test',
    conf: { global: { fsid, data_dir: dataDir } },
    confPath: join(dir, 'test.conf'),
    entity,
    key,
  });
  const cluster = await embeddedBackend.connect(connectOptions('client.admin', adminKey));
  const others: Cluster[] = [];
  const children: ChildProcess[] = [];
  return {
    cluster, adminKey, dir, dataDir, fsid, connectOptions,
    async connect(entity, key) {
      const c = await embeddedBackend.connect(connectOptions(entity, key));
      others.push(c);
      return c;
    },
    spawnClient(fixture, args = []) {
      const child = spawnFixture(fixture, args, connectOptions('client.admin', adminKey));
      children.push(child);
      return child;
    },
    async cleanup() {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      for (const c of others) await c.shutdown();
      await cluster.shutdown();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A fresh embedded cluster for one test, removed (processes killed) when the test ends. */
export async function withHarness(t: { teardown(fn: () => unknown): void }, fn: (h: EmbeddedHarness) => Promise<void>): Promise<void> {
  const h = await openEmbeddedHarness();
  t.teardown(() => h.cleanup());
  await fn(h);
}

/** The cluster's SQLite file opened read-only for the test (closed when it ends). */
export function readOnlyStore(t: { teardown(fn: () => unknown): void }, h: EmbeddedHarness): Database.Database {
  const db = new Database(join(h.dataDir, 'store.db'), { readonly: true });
  t.teardown(() => db.close());
  return db;
}

/** An object's chunk rows: bytes held inline, and chunks naming a data-file unit. */
export function chunkRows(db: Database.Database, oid: string): { inline: number; units: number } {
  const { id } = db.prepare('SELECT id FROM objects WHERE name = ?').get(oid) as { id: number };
  return db.prepare('SELECT count(*) - count(unit) AS inline, count(unit) AS units FROM chunks WHERE k BETWEEN ? AND ?')
    .get(id * 65536, id * 65536 + 65535) as { inline: number; units: number };
}
