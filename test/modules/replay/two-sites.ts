/**
 * Shared by the robustness tests of the replay daemon: two embedded clusters set up as the
 * seed (peers both ways, keyrings), real `rbdm-mirror` processes, md5 of exports.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { RBDM_MIRROR_ARGV } from '../../harness/cli.js';
import { twoClusters, type Two } from '../pool-config/support.js';

export type Site = 'local' | 'remote';
export const POOL = 'image-pool';

export async function ok(p: Promise<{ code: number; stdout: string; stderr: string }>, what: string): Promise<string> {
  const r = await p;
  if (r.code !== 0) throw new Error(`${what}: exit ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** Polls `cond` every 200 ms; generous deadlines (the machine is shared). */
export async function waitFor(what: string, cond: () => Promise<boolean>, ms = 120_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Both clusters' pool in `mode`, each a peer of the other, and the daemon user on both. */
export async function mirrored(t: { teardown(fn: () => unknown): void }, mode: 'pool' | 'image' = 'pool'): Promise<Two> {
  const two = await twoClusters(t, [POOL]);
  for (const [me, other] of [['local', 'remote'], ['remote', 'local']] as const) {
    await ok(two.rbdm(me, ['mirror', 'pool', 'enable', POOL, mode]), `enable ${me}`);
    await ok(two.rbdm(other, ['auth', 'get-or-create', `client.${other}`, 'mon', 'profile rbd', 'osd', 'profile rbd',
      '-o', `${two.c.dir}/${other}.client.${other}.keyring`]), `key ${other}`);
    await ok(two.rbdm(me, ['mirror', 'pool', 'peer', 'add', POOL, `client.${other}@${other}`]), `peer ${me}`);
    await ok(two.rbdm(me, ['auth', 'get-or-create', 'client.rbd-mirror.a', 'mon', 'profile rbd-mirror', 'osd', 'profile rbd',
      '-o', join(two.c.dir, `${me}.client.rbd-mirror.a.keyring`)]), `daemon key ${me}`);
  }
  return two;
}

export interface Daemon {
  child: ChildProcess;
  log: () => string;
  exited: Promise<number | null>;
}

/** `rbdm-mirror -f --cluster SITE --id rbd-mirror.a`, killed at teardown; waits until it replays the pool. */
export async function startDaemon(t: { teardown(fn: () => unknown): void }, two: Two, site: Site, tag = ''): Promise<Daemon> {
  const logFile = join(two.c.dir, `${site}-mirror${tag}.log`);
  const child = spawn(process.execPath, [...RBDM_MIRROR_ARGV, '-f', '--cluster', site, '--id', 'rbd-mirror.a', `--log-file=${logFile}`,
    '--admin-socket', join(two.c.dir, `${site}-mirror${tag}.asok`)], { env: { ...process.env, ...two.c.env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  t.teardown(() => child.kill('SIGKILL'));
  const log = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '') + stderr;
  await waitFor(`daemon on ${site}`, async () => log().includes(`replaying pool ${POOL}`)).catch((e: Error) => {
    throw new Error(`${e.message}\n${log()}`);
  });
  return { child, log, exited };
}

/** md5 of `rbdm export`, or undefined when the image cannot be exported (absent). */
export async function md5(two: Two, site: Site, image: string): Promise<string | undefined> {
  const file = join(two.c.dir, `${site}-${image.replaceAll('/', '_')}.img`);
  rmSync(file, { force: true });
  const r = await two.rbdm(site, ['export', `${POOL}/${image}`, file, '--no-progress']);
  if (r.code !== 0) {
    if (process.env['RBDM_TEST_DEBUG']) console.error(`export ${site} ${image}: ${r.stderr}`);
    return undefined;
  }
  return createHash('md5').update(readFileSync(file)).digest('hex');
}

/** A journaled image on `site` with some random 64 KiB writes. */
export async function writtenImage(two: Two, site: Site, image: string, size = '32M', total = '2M'): Promise<void> {
  await ok(two.rbdm(site, ['create', `${POOL}/${image}`, '--size', size, '--image-feature', 'exclusive-lock,journaling']), `create ${image}`);
  await ok(two.rbdm(site, ['bench', `${POOL}/${image}`, '--io-type', 'write', '--io-size', '64K', '--io-total', total, '--io-pattern', 'rand']), `bench ${image}`);
}

/** Waits until the replica on `to` exports byte-identical to the primary on `from`. */
export async function converged(two: Two, image: string, from: Site = 'local', to: Site = 'remote'): Promise<string> {
  const want = await md5(two, from, image);
  if (want === undefined) throw new Error(`cannot export ${image} on ${from}`);
  await waitFor(`${image} identical on ${to}`, async () => (await md5(two, to, image)) === want);
  return want;
}
