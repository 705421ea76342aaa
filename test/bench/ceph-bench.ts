/**
 * Store micro-benchmarks on a real Ceph 16.2 cluster through the ceph backend, with
 * `rados bench` on the same cluster, same object size and queue depth, in the same run as
 * the baseline (the ratio is the figure: what the addon + backend cost over librados' own
 * C++ client).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectCluster } from '../../host/cluster/connect.js';
import { cephUnavailableReason, startCephClusters } from '../harness/ceph-clusters.js';
import { benchStore } from './store-bench.js';

export interface CephBenchRow {
  name: string;
  value: number;
  unit: string;
  baseline: { name: string; value: number };
}

/** IOPS of `rados bench SECS write -b SIZE -t DEPTH`. */
function radosBench(conf: string, pool: string, size: number, depth: number, secs: number): number {
  const r = spawnSync('rados', ['--conf', conf, '-p', pool, 'bench', String(secs), 'write', '-b', String(size), '-t', String(depth), '--no-cleanup'], { encoding: 'utf8' });
  const m = /Average IOPS:\s+(\d+)/.exec(r.stdout);
  if (r.status !== 0 || !m) throw new Error(`rados bench failed: ${r.stderr}${r.stdout}`);
  spawnSync('rados', ['--conf', conf, '-p', pool, 'cleanup'], { encoding: 'utf8' });
  return Number(m[1]);
}

export async function cephBenchRows(): Promise<CephBenchRow[] | string> {
  const reason = cephUnavailableReason();
  if (reason) return reason;
  const ceph = await startCephClusters({ names: ['local'] });
  const dir = mkdtempSync(join(tmpdir(), 'rbdm-cephbench-'));
  try {
    const info = ceph.clusters.local!;
    writeFileSync(join(dir, 'site.conf'), `[global]\nbackend = ceph\nceph conf = ${info.confPath}\n`);
    copyFileSync(info.adminKeyringPath, join(dir, 'site.client.admin.keyring'));
    const cluster = await connectCluster({ clusterName: 'site', entity: 'client.admin', env: { ...process.env, RBDM_CONF_DIR: dir } });
    const rows: CephBenchRow[] = [];
    try {
      const results = await benchStore(cluster, { durationMs: 3000, pool: 'bench', workloads: ['write-4k', 'write-4m'] });
      await cluster.createPool('radosbench');
      for (const r of results) {
        const m = /^write-(4k|4m)-qd(\d+)$/.exec(r.name);
        if (!m) continue;
        const size = m[1] === '4k' ? 4096 : 4 << 20;
        const depth = Number(m[2]);
        const rados = radosBench(info.confPath, 'radosbench', size, depth, 3);
        rows.push({ name: `ceph backend store ${r.name}`, value: r.opsPerSec, unit: 'ops/s', baseline: { name: `rados bench -b ${size} -t ${depth}`, value: rados } });
      }
    } finally {
      await cluster.shutdown();
    }
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await ceph.stop();
  }
}
