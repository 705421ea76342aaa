/**
 * A StoreHarness on a real Ceph cluster (test/harness/ceph-clusters.ts) through the ceph
 * backend, and why the ceph tests cannot run here, if they cannot.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { CephClusterInfo } from '../../harness/ceph-clusters.js';
import { cephUnavailableReason } from '../../harness/ceph-clusters.js';
import { readKeyringFor } from '../../../host/cluster/keyring.js';
import type { Cluster, ConnectOptions } from '../../../host/cluster/store.js';
import { CONNECT_ENV, type ConnectSpec } from '../../fixtures/store/connect-env.js';
import type { StoreHarness } from './contract-harness.js';

const BACKEND_MODULE = new URL('../../../host/cluster/ceph/index.js', import.meta.url).href;

/** Why the ceph tests cannot run (no Ceph binaries, or the addon is not built), or undefined. */
export function cephTestsUnavailable(): string | undefined {
  const reason = cephUnavailableReason();
  if (reason) return reason;
  try {
    createRequire(import.meta.url).resolve('ceph-napi/build/Release/ceph_napi.node');
  } catch {
    return 'the ceph-napi addon is not built (install librados-dev, then npm rebuild ceph-napi)';
  }
  return undefined;
}

export interface CephHarness extends StoreHarness {
  info: CephClusterInfo;
  connectOptions(entity: string, key: string): ConnectOptions;
}

export async function openCephHarness(info: CephClusterInfo): Promise<CephHarness> {
  const { cephBackend } = await import('../../../host/cluster/ceph/index.js');
  const { key: adminKey } = await readKeyringFor({ path: info.adminKeyringPath, entity: 'client.admin' });
  const connectOptions = (entity: string, key: string): ConnectOptions => ({
    clusterName: info.name,
    conf: { global: { backend: 'ceph', ceph_conf: info.confPath } },
    confPath: `${info.dataDir}/rbdm-${info.name}.conf`,
    entity,
    key,
  });
  const cluster = await cephBackend.connect(connectOptions('client.admin', adminKey));
  const others: Cluster[] = [];
  const children: ChildProcess[] = [];
  return {
    cluster, adminKey, info, connectOptions,
    async connect(entity, key) {
      const c = await cephBackend.connect(connectOptions(entity, key));
      others.push(c);
      return c;
    },
    spawnClient(fixture, args = []) {
      const spec: ConnectSpec = { module: BACKEND_MODULE, exportName: 'cephBackend', opts: connectOptions('client.admin', adminKey) };
      const child = spawn(process.execPath, [fileURLToPath(new URL(`../../fixtures/store/${fixture}.js`, import.meta.url)), ...args], {
        env: { ...process.env, [CONNECT_ENV]: JSON.stringify(spec) },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      children.push(child);
      return child;
    },
    async cleanup() {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      for (const c of others) await c.shutdown();
      await cluster.shutdown();
    },
  };
}
