// NBD and mirroring together: writes made through `rbdm nbd serve` on the primary by real
// NBD clients (qemu-io, nbdcopy) are journaled, so the `rbdm-mirror` daemon on the other
// cluster replays them and the mirror becomes byte-identical; the replica is exported
// read-only over NBD and its bytes, read by nbdcopy, are the primary's.
import t from 'tap';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RBDM, RBDM_MIRROR_ARGV, run } from '../../harness/cli.js';
import { twoClusters } from '../pool-config/support.js';
import { haveTool, serve, tool, type Cluster } from './serve-harness.js';

const POOL = 'image-pool';
const IMAGE = `${POOL}/vm`;
const M = 1 << 20;

async function waitFor(what: string, cond: () => Promise<boolean>, ms = 180_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

t.test('writes through NBD on the primary reach the mirror', async (t) => {
  for (const x of ['qemu-io', 'nbdcopy']) if (!haveTool(t, x)) return;
  const two = await twoClusters(t, [POOL]);
  const ok = async (cluster: 'local' | 'remote', args: string[]) => {
    const r = await two.rbdm(cluster, args);
    if (r.code !== 0) throw new Error(`rbdm --cluster ${cluster} ${args.join(' ')}: ${r.stderr}`);
    return r;
  };
  for (const [me, other] of [['local', 'remote'], ['remote', 'local']] as const) {
    await ok(me, ['mirror', 'pool', 'enable', POOL, 'pool']);
    await ok(other, ['auth', 'get-or-create', `client.${other}`, 'mon', 'profile rbd', 'osd', 'profile rbd', '-o', join(two.c.dir, `${other}.client.${other}.keyring`)]);
    await ok(me, ['mirror', 'pool', 'peer', 'add', POOL, `client.${other}@${other}`]);
  }
  await ok('remote', ['auth', 'get-or-create', 'client.rbd-mirror.a', 'mon', 'profile rbd-mirror', 'osd', 'profile rbd', '-o', join(two.c.dir, 'remote.client.rbd-mirror.a.keyring')]);
  const log = join(two.c.dir, 'remote-mirror.log');
  const daemon = spawn(process.execPath, [...RBDM_MIRROR_ARGV, '-f', '--cluster', 'remote', '--id', 'rbd-mirror.a', `--log-file=${log}`, '--admin-socket', join(two.c.dir, 'remote.asok')], {
    env: { ...process.env, ...two.c.env }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  daemon.stderr!.resume();
  const exited = new Promise<number | null>((res) => daemon.on('exit', (code) => res(code)));
  t.teardown(() => daemon.kill('SIGKILL'));
  const logText = () => (existsSync(log) ? readFileSync(log, 'utf8') : '');

  await ok('local', ['create', IMAGE, '--size', '64M', '--image-feature', 'exclusive-lock,journaling']);
  const md5 = async (cluster: 'local' | 'remote') => {
    const r = await two.rbdm(cluster, ['export', IMAGE, '-', '--no-progress']);
    return r.code === 0 ? createHash('md5').update(r.stdoutBytes).digest('hex') : undefined;
  };
  const local: Cluster = {
    c: two.c,
    rbdm: (args, opts = {}) => run(RBDM, ['--cluster', 'local', ...args], { ...opts, env: { ...two.c.env, ...opts.env } }),
    ok: (args) => ok('local', args),
  };
  const srv = await serve(local, [IMAGE, '--bind', '127.0.0.1:0', '--export-name', 'vm'], t);
  const uri = srv.uri('vm');

  // qemu-io: patterned writes, write-zeroes and a discard, all through the NBD export.
  const qio = await tool('qemu-io', ['-f', 'raw', '-c', 'write -P 0xab 0 3M', '-c', 'write -P 0x5e 1000 3000',
    '-c', 'write -z 1M 512K', '-c', 'discard 2M 256K', '-c', 'write -P 0xcd 40M 4M', uri]);
  t.equal(qio.code, 0, `qemu-io through NBD: ${qio.stderr}`);
  // nbdcopy: a sparse file with random data at two places, copied into the export.
  const src = join(two.c.dir, 'src.raw');
  const data = Buffer.alloc(64 * M);
  randomBytes(2 * M).copy(data, 10 * M);
  randomBytes(M).copy(data, 50 * M);
  writeFileSync(src, data);
  const copy = await tool('nbdcopy', ['--flush', src, uri]);
  t.equal(copy.code, 0, `nbdcopy into the export: ${copy.stderr}`);
  const again = await tool('qemu-io', ['-f', 'raw', '-c', 'write -P 0x77 20M 64K', '-c', 'flush', uri]);
  t.equal(again.code, 0, again.stderr);

  const primary = await md5('local');
  t.ok(primary, 'the primary exports');
  await waitFor('the mirror to replay the NBD writes', async () => (await md5('remote')) === primary)
    .catch((e: Error) => { throw new Error(`${e.message}\n${logText()}`); });
  t.pass('the mirror on remote is byte-identical to the primary written through NBD');

  // The replica over NBD: exported read-only (non-primary), its bytes are the primary's.
  const remote: Cluster = {
    c: two.c,
    name: 'remote',
    rbdm: (args, opts = {}) => run(RBDM, ['--cluster', 'remote', ...args], { ...opts, env: { ...two.c.env, ...opts.env } }),
    ok: (args) => ok('remote', args),
  };
  const replica = await serve(remote, [IMAGE, '--bind', '127.0.0.1:0', '--export-name', 'vm'], t);
  t.match(replica.stderr(), /read-only/, 'the non-primary replica is exported read-only');
  const out = join(two.c.dir, 'replica.raw');
  const copyOut = await tool('nbdcopy', [replica.uri('vm'), out]);
  t.equal(copyOut.code, 0, copyOut.stderr);
  t.equal(createHash('md5').update(readFileSync(out)).digest('hex'), primary, 'nbdcopy of the replica = the primary');
  await replica.stop();

  await srv.stop();
  daemon.kill('SIGTERM');
  t.equal(await exited, 0, 'daemon exits 0 on SIGTERM');
});
