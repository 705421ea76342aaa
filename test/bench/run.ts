/**
 * `npm run bench`: rbdm against a baseline measured in the same run on the same disk.
 * Figures are ratios (rbdm / baseline); wall-clock numbers are printed for context only.
 *
 * - `rbdm bench` 4 KiB random writes and 1 MiB sequential writes on an embedded cluster,
 *   next to plain file writes of the same pattern and queue depth, both page-cache only and
 *   durable (fdatasync per write, which is what an acknowledged rbdm write promises).
 * - `rbdm ls` start-to-exit time, next to `node -e 0`.
 * - the mirror daemon's replay, catch-up, full sync, lag and RSS (replay-bench.ts).
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RBDM } from '../harness/cli.js';
import { connectCluster } from '../../host/cluster/connect.js';
import { benchStore } from './store-bench.js';
import { journalBenchRows } from './journal-bench.js';
import { cephBenchRows } from './ceph-bench.js';
import { replayBenchRows } from './replay-bench.js';

interface Row {
  name: string;
  value: number;
  unit: string;
  baseline?: { name: string; value: number };
}

const dir = mkdtempSync(join(tmpdir(), 'rbdm-bench-'));
const env = { ...process.env, RBDM_CONF_DIR: dir };

function rbdm(args: string[]): { stdout: string; ms: number } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [RBDM, '--cluster', 'bench', ...args], { env, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`rbdm ${args.join(' ')} failed: ${r.stderr}`);
  return { stdout: r.stdout, ms };
}

/** ops/sec from rbd bench's summary line. */
function benchOps(stdout: string): number {
  const m = /ops\/sec: ([\d.]+)/.exec(stdout);
  if (!m) throw new Error(`no summary in bench output:\n${stdout}`);
  return Number(m[1]);
}

/** The same pattern with plain file writes: `threads` writers, like rbd bench's io-threads. */
async function fileWrites(path: string, ioSize: number, total: number, pattern: 'rand' | 'seq', threads: number, sync: boolean): Promise<number> {
  const fh = await open(path, 'w+');
  const span = 1024 * 1024 * 1024;
  await fh.truncate(span);
  const ops = Math.floor(total / ioSize);
  const buf = randomBytes(ioSize);
  let next = 0;
  const t0 = process.hrtime.bigint();
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= ops) return;
      const off = pattern === 'seq' ? (i * ioSize) % span : Math.floor(Math.random() * (span / ioSize)) * ioSize;
      await fh.write(buf, 0, ioSize, off);
      if (sync) await fh.datasync();
    }
  };
  await Promise.all(Array.from({ length: threads }, worker));
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  await fh.close();
  rmSync(path, { force: true });
  return ops / secs;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  rbdm(['cluster', 'create', '--data-dir', join(dir, 'data')]);
  rbdm(['pool', 'create', 'bench-pool']);
  rbdm(['create', 'bench-pool/img', '--size', '1G', '--image-feature', 'exclusive-lock']);

  const cases: Array<{ name: string; size: number; sizeArg: string; total: number; totalArg: string; pattern: 'rand' | 'seq' }> = [
    { name: '4 KiB random write', size: 4096, sizeArg: '4K', total: 32 << 20, totalArg: '32M', pattern: 'rand' },
    { name: '1 MiB sequential write', size: 1 << 20, sizeArg: '1M', total: 256 << 20, totalArg: '256M', pattern: 'seq' },
  ];
  for (const c of cases) {
    const out = rbdm(['bench', '--io-type', 'write', '--io-size', c.sizeArg, '--io-total', c.totalArg, '--io-pattern', c.pattern, '--io-threads', '16', 'bench-pool/img']);
    const ops = benchOps(out.stdout);
    const plain = await fileWrites(join(dir, 'plain.img'), c.size, c.total, c.pattern, 16, false);
    const durable = await fileWrites(join(dir, 'durable.img'), c.size, Math.min(c.total, c.size === 4096 ? 8 << 20 : 64 << 20), c.pattern, 16, true);
    rows.push({ name: `rbdm bench ${c.name} (16 threads)`, value: ops, unit: 'ops/s', baseline: { name: 'plain file, page cache', value: plain } });
    rows.push({ name: `rbdm bench ${c.name} (16 threads)`, value: ops, unit: 'ops/s', baseline: { name: 'plain file, fdatasync per write', value: durable } });
  }

  const lsTimes = Array.from({ length: 7 }, () => rbdm(['ls', 'bench-pool']).ms);
  const nodeTimes = Array.from({ length: 7 }, () => {
    const t0 = process.hrtime.bigint();
    spawnSync(process.execPath, ['-e', '0']);
    return Number(process.hrtime.bigint() - t0) / 1e6;
  });
  rows.push({ name: 'rbdm ls start-to-exit (median of 7)', value: median(lsTimes), unit: 'ms', baseline: { name: 'node -e 0', value: median(nodeTimes) } });

  // The Store itself (embedded backend), next to durable plain-file writes at the same depth.
  const cluster = await connectCluster({ clusterName: 'bench', entity: 'client.admin', env });
  try {
    const store = await benchStore(cluster, { durationMs: 2000 });
    for (const qd of [1, 16]) {
      const file4k = await fileWrites(join(dir, 'qd.img'), 4096, 4 << 20, 'rand', qd, true);
      const file4m = await fileWrites(join(dir, 'qd.img'), 4 << 20, 128 << 20, 'seq', qd, true);
      for (const r of store.filter((x) => x.name.endsWith(`-qd${qd}`))) {
        const big = r.name.startsWith('write-4m');
        rows.push({ name: `store ${r.name} (embedded)`, value: r.opsPerSec, unit: 'ops/s',
          baseline: { name: `plain file ${big ? '4 MiB' : '4 KiB'} + fdatasync, depth ${qd}`, value: big ? file4m : file4k } });
      }
    }
  } finally {
    await cluster.shutdown();
  }

  // Journaling overhead: the same bench on a journaled image vs one without journaling.
  for (const r of await journalBenchRows('32M')) rows.push(r);

  // The mirror daemon (issue 6): replay throughput, catch-up, RSS, full sync, lag, notify cost.
  for (const r of await replayBenchRows((s) => process.stdout.write(`# replay bench: ${s}\n`))) rows.push(r);

  // The ceph backend on a real cluster next to rados bench (skipped where Ceph is missing).
  const ceph = await cephBenchRows();
  if (typeof ceph === 'string') process.stdout.write(`# ceph rows skipped: ${ceph}\n`);
  else rows.push(...ceph);

  process.stdout.write('\n| measurement | rbdm | baseline | baseline value | ratio rbdm/baseline |\n|---|---|---|---|---|\n');
  for (const r of rows) {
    const b = r.baseline!;
    process.stdout.write(`| ${r.name} | ${r.value.toFixed(0)} ${r.unit} | ${b.name} | ${b.value.toFixed(0)} ${r.unit} | ${(r.value / b.value).toFixed(2)} |\n`);
  }
}

try {
  await main();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
