/**
 * Shared by the multi-daemon and admin-socket tests: the seed's two-cluster set-up (pool mode
 * on both, peers both ways), `rbdm-mirror` daemons as real child processes, export checksums.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { RBDM_MIRROR_ARGV } from '../../harness/cli.js';
import { twoClusters, type Two } from '../pool-config/support.js';

export const POOL = 'image-pool';

export async function ok(p: Promise<{ code: number; stderr: string }>, what: string): Promise<void> {
  const r = await p;
  if (r.code !== 0) throw new Error(`${what}: ${r.stderr}`);
}

/** Polls `cond` every 200 ms; generous deadlines, the machine is shared. */
export async function waitFor(what: string, cond: () => Promise<boolean>, ms = 90_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Pool mode on both clusters, each a peer of the other with its keyring. */
export async function mirrored(t: { teardown(fn: () => unknown): void }): Promise<Two> {
  const two = await twoClusters(t, [POOL]);
  for (const [me, other] of [['local', 'remote'], ['remote', 'local']] as const) {
    await ok(two.rbdm(me, ['mirror', 'pool', 'enable', POOL, 'pool']), `enable ${me}`);
    await ok(two.rbdm(other, ['auth', 'get-or-create', `client.${other}`, 'mon', 'profile rbd', 'osd', 'profile rbd',
      '-o', `${two.c.dir}/${other}.client.${other}.keyring`]), `key ${other}`);
    await ok(two.rbdm(me, ['mirror', 'pool', 'peer', 'add', POOL, `client.${other}@${other}`]), `peer ${me}`);
  }
  return two;
}

let exports = 0;

/** md5 of `rbdm export`; undefined while the image does not exist. */
export async function md5(two: Two, cluster: 'local' | 'remote', image: string): Promise<string | undefined> {
  // A fresh path each time: export refuses to overwrite a file, as rbd's does.
  const file = join(two.c.dir, `${cluster}-${image}-${++exports}.img`);
  const r = await two.rbdm(cluster, ['export', `${POOL}/${image}`, file, '--no-progress']);
  if (r.code === 2) return undefined; // not there (yet)
  if (r.code !== 0) throw new Error(`export ${cluster} ${image}: ${r.code} ${r.stderr}`);
  const sum = createHash('md5').update(readFileSync(file)).digest('hex');
  rmSync(file);
  return sum;
}

export interface Daemon {
  id: string;
  child: ChildProcess;
  asok: string;
  log: () => string;
  exited: Promise<number | null>;
  stderr: () => string;
}

/**
 * `rbdm-mirror -f --cluster remote --id rbd-mirror.<id>` with its own key, log and socket;
 * `env` adds variables (e.g. the test hook `RBDM_MIRROR_CRASH_AT`).
 */
export async function startDaemon(t: { teardown(fn: () => unknown): void }, two: Two, id: string, env: Record<string, string> = {}): Promise<Daemon> {
  const kr = join(two.c.dir, `remote.client.rbd-mirror.${id}.keyring`);
  await ok(two.rbdm('remote', ['auth', 'get-or-create', `client.rbd-mirror.${id}`, 'mon', 'profile rbd-mirror', 'osd', 'profile rbd', '-o', kr]), 'daemon key');
  const logFile = join(two.c.dir, `remote-mirror-${id}.log`);
  const asok = join(two.c.dir, `mirror-${id}.asok`);
  const child = spawn(process.execPath, [...RBDM_MIRROR_ARGV, '-f', '--cluster', 'remote', '--id', `rbd-mirror.${id}`, `--log-file=${logFile}`, '--admin-socket', asok], {
    env: { ...process.env, ...two.c.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  const log = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  await waitFor(`daemon ${id} start`, async () => log().includes('replaying pool image-pool')).catch((e: Error) => {
    throw new Error(`${e.message}\n${log()}\n${stderr}`);
  });
  return { id, child, asok, log, exited, stderr: () => stderr };
}

/** `mirror image status --format json` of a replica: state and the writing daemon's id. */
export async function imageStatus(two: Two, image: string): Promise<{ state: string; daemon: string; description: string } | undefined> {
  const r = await two.rbdm('remote', ['mirror', 'image', 'status', `${POOL}/${image}`, '--format', 'json']);
  if (r.code !== 0) return undefined;
  const j = JSON.parse(r.stdout) as { state: string; description: string; daemon_service?: { daemon_id?: string } };
  return { state: j.state, daemon: j.daemon_service?.daemon_id ?? '', description: j.description };
}

/** Waits for the daemon's exit (a test hook's SIGKILL); the timer does not outlive it. */
export async function exitedWithin(d: Daemon, ms: number, why: () => string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([d.exited, new Promise((_, rej) => (timer = setTimeout(() => rej(new Error(why())), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
