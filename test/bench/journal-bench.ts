/**
 * Journaling overhead: `rbdm bench` 4 KiB random writes on a journaled image, next to the
 * same image without journaling, on the same embedded cluster in the same run. The ratio is
 * what the write-ahead journal costs (Ceph: "expect write latencies to nearly double").
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RBDM } from '../harness/cli.js';

export interface JournalBenchRow {
  name: string;
  value: number;
  unit: string;
  baseline: { name: string; value: number };
}

export async function journalBenchRows(total = '16M'): Promise<JournalBenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'rbdm-journal-bench-'));
  const env = { ...process.env, RBDM_CONF_DIR: dir };
  const rbdm = (args: string[]) => {
    const r = spawnSync(process.execPath, [RBDM, '--cluster', 'bench', ...args], { env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`rbdm ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  };
  const ops = (out: string) => Number(/ops\/sec: ([\d.]+)/.exec(out)?.[1] ?? NaN);
  try {
    rbdm(['cluster', 'create', '--data-dir', join(dir, 'data')]);
    rbdm(['pool', 'create', 'rbd']);
    rbdm(['create', 'plain', '--size', '1G', '--image-feature', 'layering,exclusive-lock']);
    rbdm(['create', 'journaled', '--size', '1G', '--image-feature', 'layering,exclusive-lock,journaling']);
    const bench = (img: string) => ops(rbdm(['bench', img, '--io-type', 'write', '--io-size', '4K', '--io-threads', '16', '--io-total', total, '--io-pattern', 'rand']));
    const plain = bench('plain');
    const journaled = bench('journaled');
    return [{
      name: 'rbdm bench 4 KiB random writes, journaled image', value: journaled, unit: 'ops/s',
      baseline: { name: 'same bench, image without journaling', value: plain },
    }];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await journalBenchRows()) {
    process.stdout.write(`${r.name}: ${r.value.toFixed(0)} ${r.unit} vs ${r.baseline.name}: ${r.baseline.value.toFixed(0)} ${r.unit} (ratio ${(r.value / r.baseline.value).toFixed(2)})\n`);
  }
}
