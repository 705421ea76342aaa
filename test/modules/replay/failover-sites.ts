/**
 * Shared by the failover and split-brain tests: the seed's two clusters (pool mode on both,
 * peers both ways) with one `rbdm-mirror` per cluster, and small helpers over the real CLI.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { RBDM_MIRROR_ARGV } from '../../harness/cli.js';
import { twoClusters, type Two } from '../pool-config/support.js';

export type Site = 'local' | 'remote';
export const other = (s: Site): Site => (s === 'local' ? 'remote' : 'local');

export async function ok(p: Promise<{ code: number; stderr: string; stdout: string }>, what: string): Promise<string> {
  const r = await p;
  if (r.code !== 0) throw new Error(`${what}: exit ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** Polls `cond` every 250 ms; generous deadlines (the machine is shared). */
export async function waitFor(what: string, cond: () => Promise<boolean>, ms = 120_000, detail?: () => Promise<string> | string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${detail ? `\n${await detail()}` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export interface Daemon {
  log(): string;
  stop(): Promise<number | null>;
  /** Resolves with the signal that ended the process (null after a plain exit). */
  exited: Promise<NodeJS.Signals | null>;
}

export interface Mirrored extends Two {
  daemons: Record<Site, Daemon>;
  /** The export's md5, or why the export failed. */
  md5(site: Site, spec: string): Promise<string>;
  /** `mirror image status SPEC`: `state` and `description` lines. */
  status(site: Site, spec: string): Promise<{ state: string; description: string; text: string }>;
  waitStatus(site: Site, spec: string, state: RegExp, description: RegExp, ms?: number): Promise<void>;
}

/**
 * `rbdm-mirror -f --cluster SITE --id rbd-mirror.a` (key made here), killed at teardown; `tag`
 * names its log and socket apart from an earlier daemon's; `env` adds variables (the test hook
 * `RBDM_MIRROR_CRASH_AT`). Does not wait for it to start.
 */
export async function spawnSiteDaemon(t: { teardown(fn: () => unknown): void }, two: Two, site: Site, tag = '', env: Record<string, string> = {}): Promise<Daemon> {
  const kr = join(two.c.dir, `${site}.client.rbd-mirror.a.keyring`);
  await ok(two.rbdm(site, ['auth', 'get-or-create', 'client.rbd-mirror.a', 'mon', 'profile rbd-mirror', 'osd', 'profile rbd', '-o', kr]), `daemon key ${site}`);
  const logFile = join(two.c.dir, `${site}-mirror${tag}.log`);
  const child: ChildProcess = spawn(process.execPath, [...RBDM_MIRROR_ARGV, '-f', '--cluster', site, '--id', 'rbd-mirror.a', `--log-file=${logFile}`,
    '--admin-socket', join(two.c.dir, `${site}-mirror${tag}.asok`)], { env: { ...process.env, ...two.c.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  t.teardown(() => child.kill('SIGKILL'));
  const log = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '') + stderr;
  return { log, stop: async () => { child.kill('SIGTERM'); return exited; }, exited: exited.then(() => child.signalCode) };
}

/**
 * @param before runs once the pools are mirrored, before the daemons start (e.g. the first
 *   image and its data: a write racing the very first bootstrap is not what these tests test).
 */
export async function mirroredWithDaemons(t: { teardown(fn: () => unknown): void }, pool: string,
  before: (two: Two) => Promise<void> = async () => undefined, sites: Site[] = ['local', 'remote']): Promise<Mirrored> {
  const two = await twoClusters(t, [pool]);
  for (const [me, peer] of [['local', 'remote'], ['remote', 'local']] as const) {
    await ok(two.rbdm(me, ['mirror', 'pool', 'enable', pool, 'pool']), `enable ${me}`);
    await ok(two.rbdm(peer, ['auth', 'get-or-create', `client.${peer}`, 'mon', 'profile rbd', 'osd', 'profile rbd',
      '-o', `${two.c.dir}/${peer}.client.${peer}.keyring`]), `key ${peer}`);
    await ok(two.rbdm(me, ['mirror', 'pool', 'peer', 'add', pool, `client.${peer}@${peer}`]), `peer ${me}`);
  }
  await before(two);
  const daemons = {} as Record<Site, Daemon>;
  for (const site of sites) daemons[site] = await spawnSiteDaemon(t, two, site);
  for (const site of sites) {
    await waitFor(`${site} daemon start`, async () => daemons[site].log().includes(`replaying pool ${pool}`), 60_000, () => daemons[site].log());
  }
  const md5 = async (site: Site, spec: string) => {
    const file = join(two.c.dir, `${site}-export.img`);
    rmSync(file, { force: true });
    const r = await two.rbdm(site, ['export', spec, file, '--no-progress']);
    if (r.code !== 0) return `export failed (${r.code}): ${r.stderr}`;
    return createHash('md5').update(readFileSync(file)).digest('hex');
  };
  const status = async (site: Site, spec: string) => {
    const r = await two.rbdm(site, ['mirror', 'image', 'status', spec]);
    return {
      state: /^\s*state:\s+(.*)$/m.exec(r.stdout)?.[1] ?? '',
      description: /^\s*description:\s+(.*)$/m.exec(r.stdout)?.[1] ?? '',
      text: r.stdout + r.stderr,
    };
  };
  const waitStatus = async (site: Site, spec: string, state: RegExp, description: RegExp, ms = 120_000) => {
    let last = '';
    await waitFor(`${site} status ${state} ${description}`, async () => {
      const s = await status(site, spec);
      last = s.text;
      return state.test(s.state) && description.test(s.description);
    }, ms, () => `last status:\n${last}\n--- ${site} daemon log:\n${daemons[site].log().slice(-4000)}`);
  };
  return { ...two, daemons, md5, status, waitStatus };
}
