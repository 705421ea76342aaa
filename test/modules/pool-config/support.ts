/**
 * Shared by the pool-config tests: two embedded clusters (`local`, `remote`) in one conf dir,
 * driven by the real CLI, and rbd 16.2's captured outputs to compare against.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectCluster } from '../../../host/cluster/connect.js';
import { TestClusters, type RunResult } from '../../harness/cli.js';

export const REFERENCE_DIR = '/work/shared/reference/ceph-16.2-outputs';

/** The two clusters' fsids in the capture: rbd 16.2 used them as default site names. */
const REF_FSID_SITE: Record<string, string> = {
  '063d50e3-57a6-4eda-8c30-2882bb523182': 'local',
  'b251094f-3962-4676-b64a-a942192fcf6a': 'remote',
};

const UUID_RE = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

export interface Reference {
  /** rbd's arguments after `rbd`, e.g. `['--cluster', 'local', 'mirror', 'pool', 'info', 'image-pool']`. */
  args: string[];
  stdout: string;
  stderr: string;
  code: number;
}

/** Parses `NNN-*.txt`: `$ command`, `--- stdout`, `--- stderr`, `--- exit code: N`. */
export function reference(n: number): Reference {
  const prefix = String(n).padStart(3, '0');
  const file = readdirSync(REFERENCE_DIR).find((f) => f.startsWith(`${prefix}-`));
  if (!file) throw new Error(`no reference output ${prefix}`);
  const text = readFileSync(join(REFERENCE_DIR, file), 'utf8');
  const m = /^\$ (.*)\n--- stdout\n([\s\S]*?)--- stderr\n([\s\S]*?)--- exit code: (\d+)/.exec(text);
  if (!m) throw new Error(`cannot parse ${file}`);
  const words = [...m[1]!.matchAll(/'([^']*)'|(\S+)/g)].map((w) => w[1] ?? w[2]!);
  if (words[0] !== 'rbd') throw new Error(`${file} is not an rbd command`);
  return { args: words.slice(1), stdout: m[2]!, stderr: m[3]!, code: Number(m[4]) };
}

/**
 * Text made comparable: uuids masked, rbd's fsid site names replaced by the cluster names
 * rbdm uses (the documented difference), `rbd: ` and `rbdm: ` prefixes made one.
 */
export function normalize(text: string): string {
  let s = text;
  for (const [fsid, name] of Object.entries(REF_FSID_SITE)) s = s.replaceAll(fsid, name);
  return s.replace(UUID_RE, '<uuid>').replace(/^rbdm?: /gm, 'rbd: ');
}

export function uuids(text: string): string[] {
  return text.match(UUID_RE) ?? [];
}

export interface Two {
  c: TestClusters;
  rbdm(cluster: 'local' | 'remote', args: string[]): Promise<RunResult>;
  /** Runs rbd's arguments (with `--cluster X`) as rbdm arguments. */
  replay(args: string[]): Promise<RunResult>;
}

export async function twoClusters(t: { teardown(fn: () => unknown): void }, pools: string[] = []): Promise<Two> {
  const c = new TestClusters('rbdm-pool-config-');
  t.teardown(() => c.cleanup());
  await c.create('local');
  await c.create('remote');
  const rbdm = (cluster: 'local' | 'remote', args: string[]) => c.rbdm(['--cluster', cluster, ...args]);
  for (const pool of pools) {
    for (const cl of ['local', 'remote'] as const) {
      const r = await rbdm(cl, ['pool', 'create', pool]);
      if (r.code !== 0) throw new Error(`pool create ${pool} on ${cl}: ${r.stderr}`);
    }
  }
  return { c, rbdm, replay: (args) => c.rbdm(args) };
}

/** `mirror pool info POOL` in both layouts (with --all), to show that a refusal changed nothing. */
export async function snapshot(two: Two, cluster: 'local' | 'remote', pool: string): Promise<string> {
  const plain = await two.rbdm(cluster, ['mirror', 'pool', 'info', pool, '--all']);
  const json = await two.rbdm(cluster, ['mirror', 'pool', 'info', pool, '--format', 'json']);
  return `${plain.code}\n${plain.stdout}${plain.stderr}${json.stdout}${json.stderr}`;
}

/**
 * The pool's raw `rbd_mirroring` object (version and every omap entry), read in-process: a
 * refusal that wrote anything at all, even an unchanged value, shows as a new version.
 */
export async function rawState(t: { teardown(fn: () => unknown): void }, two: Two, cluster: 'local' | 'remote', pool: string): Promise<() => Promise<string>> {
  const c = await connectCluster({ clusterName: cluster, entity: 'client.admin', env: two.c.env });
  t.teardown(() => c.shutdown());
  const io = await c.ioctx(pool);
  return async () => {
    try {
      const [stat, vals] = await io.operateRead('rbd_mirroring', { steps: [{ op: 'stat' }, { op: 'omap_get_vals' }] });
      const version = stat?.op === 'stat' ? stat.stat.version : -1;
      const entries = vals?.op === 'omap_get_vals' ? [...vals.entries].map(([k, v]) => `${k}=${v.toString('utf8')}`) : [];
      return JSON.stringify({ version, entries });
    } catch (e) {
      if ((e as { errno?: string }).errno === 'ENOENT') return 'absent';
      throw e;
    }
  };
}
