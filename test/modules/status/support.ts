/**
 * Shared by the status tests: the seed's two clusters (pool mode on `image-pool`, peers both
 * ways with their keyrings, a journaled image on `local`) driven by the real CLI, and an
 * in-process Host per cluster whose `records` service writes as the replay daemon will.
 */
import { Host } from '../../../host/runtime/host.js';
import type { Cluster } from '../../../host/index.js';
import type { StatusService } from '../../../modules/status/api.js';
import { boundService } from '../../../modules/status/runtime.js';
import { normalize, rawState, reference, twoClusters, type Two } from '../pool-config/support.js';

export { rawState, reference, type Two };

export const POOL = 'image-pool';

/** uuids (normalize), rbd's times and instance/service ids masked. */
export function mask(text: string): string {
  return normalize(text)
    .replace(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/g, '<time>')
    .replace(/"(service_id|instance_id)":"[^"]*"/g, '"$1":"<n>"')
    .replace(/^(service |  instance_id: )\S+?(:?)$/gm, '$1<n>$2');
}

export interface Site {
  cluster: Cluster;
  records: StatusService;
}

export async function site(t: { teardown(fn: () => unknown): void }, two: Two, name: 'local' | 'remote'): Promise<Site> {
  const host = new Host({ clusterName: name, entity: 'client.admin', env: two.c.env });
  await host.init();
  await host.loadModules();
  t.teardown(() => host.shutdown());
  return { cluster: await host.cluster(), records: boundService() };
}

async function ok(p: Promise<{ code: number; stderr: string }>, what: string): Promise<void> {
  const r = await p;
  if (r.code !== 0) throw new Error(`${what}: ${r.stderr}`);
}

/** The seed's set-up: pool mode on both, each a peer of the other, image-1 journaled on local. */
export async function seeded(t: { teardown(fn: () => unknown): void }): Promise<Two> {
  const two = await twoClusters(t, [POOL]);
  for (const [me, other] of [['local', 'remote'], ['remote', 'local']] as const) {
    await ok(two.rbdm(me, ['mirror', 'pool', 'enable', POOL, 'pool']), `enable ${me}`);
    await ok(two.rbdm(other, ['auth', 'get-or-create', `client.${other}`, 'mon', 'profile rbd', 'osd', 'profile rbd',
      '-o', `${two.c.dir}/${other}.client.${other}.keyring`]), `key ${other}`);
    await ok(two.rbdm(me, ['mirror', 'pool', 'peer', 'add', POOL, `client.${other}@${other}`]), `peer ${me}`);
  }
  await ok(two.rbdm('local', ['create', `${POOL}/image-1`, '--size', '64M', '--image-feature', 'exclusive-lock,journaling']), 'create');
  return two;
}

export async function globalIdOf(two: Two, image = `${POOL}/image-1`): Promise<string> {
  const r = await two.rbdm('local', ['mirror', 'image', 'status', image, '--format', 'json']);
  return (JSON.parse(r.stdout) as { global_id: string }).global_id;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
