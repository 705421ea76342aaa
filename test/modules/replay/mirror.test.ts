// The replay daemon end to end: two embedded clusters set up as the seed (pool mode on both,
// peers both ways), `rbdm-mirror` serving the `remote` cluster, a journaled image on `local`
// bootstrapped (replica, full sync) and then replayed; status up+replaying; SIGTERM exits 0.
import t from 'tap';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { RBDM_MIRROR_ARGV } from '../../harness/cli.js';
import type { Two } from '../pool-config/support.js';
import { mirrored, ok, POOL, waitFor } from './daemon-support.js';

const IMAGE = `${POOL}/image-1`;

async function md5(two: Two, cluster: 'local' | 'remote'): Promise<string | undefined> {
  const file = join(two.c.dir, `${cluster}-export.img`);
  // export refuses an existing file (as rbd's): without this every later md5 was undefined.
  rmSync(file, { force: true });
  const r = await two.rbdm(cluster, ['export', IMAGE, file, '--no-progress']);
  if (r.code !== 0) return undefined;
  return createHash('md5').update(readFileSync(file)).digest('hex');
}

t.test('replay: bootstrap, full sync, journal replay, status, SIGTERM', async (t) => {
  const two = await mirrored(t);
  const kr = join(two.c.dir, 'remote.client.rbd-mirror.a.keyring');
  await ok(two.rbdm('remote', ['auth', 'get-or-create', 'client.rbd-mirror.a', 'mon', 'profile rbd-mirror', 'osd', 'profile rbd', '-o', kr]), 'daemon key');
  const peerMirrorUuid = async () => {
    const r = await two.rbdm('remote', ['mirror', 'pool', 'info', 'image-pool', '--format', 'json']);
    if (r.code !== 0) throw new Error(`mirror pool info: ${r.stderr}`);
    return (JSON.parse(r.stdout) as { peers: Array<{ mirror_uuid: string }> }).peers[0]?.mirror_uuid;
  };
  t.equal(await peerMirrorUuid(), '', 'the peer record has no mirror uuid before a daemon connected');
  const log = join(two.c.dir, 'remote-mirror.log');
  const child = spawn(process.execPath, [...RBDM_MIRROR_ARGV, '-f', '--cluster', 'remote', '--id', 'rbd-mirror.a', `--log-file=${log}`, '--admin-socket', join(two.c.dir, 'mirror.asok')], {
    env: { ...process.env, ...two.c.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  t.teardown(() => child.kill('SIGKILL'));
  const logText = () => (existsSync(log) ? readFileSync(log, 'utf8') : '');
  await waitFor('daemon start', async () => logText().includes('replaying pool image-pool')).catch((e: Error) => {
    throw new Error(`${e.message}\n${logText()}\n${stderr}`);
  });

  t.match(await peerMirrorUuid(), /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'the daemon recorded the peer pool\'s mirror uuid (mirror pool info)');

  await ok(two.rbdm('local', ['create', IMAGE, '--size', '64M', '--image-feature', 'exclusive-lock,journaling']), 'create');
  await ok(two.rbdm('local', ['bench', IMAGE, '--io-type', 'write', '--io-size', '64K', '--io-total', '4M', '--io-pattern', 'rand']), 'bench 1');
  const first = await md5(two, 'local');
  await waitFor('full sync', async () => (await md5(two, 'remote')) === first);
  t.pass('replica equals the primary after bootstrap');

  const info = await two.rbdm('remote', ['mirror', 'image', 'status', IMAGE, '--format', 'json']);
  t.equal(info.code, 0, info.stderr);

  await ok(two.rbdm('local', ['bench', IMAGE, '--io-type', 'write', '--io-size', '4K', '--io-total', '2M', '--io-pattern', 'rand']), 'bench 2');
  const second = await md5(two, 'local');
  t.not(second, first, 'the second bench changed the primary');
  await waitFor('replay', async () => (await md5(two, 'remote')) === second);
  t.pass('replica equals the primary after journal replay');

  await waitFor('up+replaying', async () => {
    const r = await two.rbdm('remote', ['mirror', 'image', 'status', IMAGE]);
    return /state: +up\+replaying/.test(r.stdout);
  }, 15_000);
  const st = await two.rbdm('remote', ['mirror', 'image', 'status', IMAGE]);
  t.match(st.stdout, /description: replaying, \{"bytes_per_second":[\d.]+,"entries_behind_primary":\d+,/, 'rbd-like description');
  const feats = await two.rbdm('remote', ['info', IMAGE, '--format', 'json']);
  t.match(JSON.parse(feats.stdout), { features: ['exclusive-lock', 'journaling'], mirroring: { primary: false } }, 'non-primary journaled replica');

  t.notMatch(logText(), /replay of .* failed|ERROR|error/i, 'no replay errors in the daemon log');
  child.kill('SIGTERM');
  t.equal(await exited, 0, `daemon exit code (stderr: ${stderr})`);
});
