// rbdm-mirror as systemd runs it: -f, its own client id, a log file that SIGHUP reopens, an
// admin socket, clean exit on SIGTERM.
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RBDM_MIRROR_ARGV, TestClusters } from '../harness/cli.js';
import { adminCommand } from '../../host/runtime/admin-socket.js';

async function waitFor(cond: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

t.test('daemon: start, admin socket, SIGHUP log reopen, SIGTERM', async (t) => {
  const c = new TestClusters('rbdm-d-');
  t.teardown(() => c.cleanup());
  await c.create('local');
  const kr = join(c.dir, 'local.client.rbd-mirror.a.keyring');
  const r = await c.rbdm(['--cluster', 'local', 'auth', 'get-or-create', 'client.rbd-mirror.a', 'mon', 'profile rbd', 'osd', 'profile rbd', '-o', kr]);
  t.equal(r.code, 0, r.stderr);

  const GOOD = fileURLToPath(new URL('../fixtures/modules/good/', import.meta.url));
  const en = await c.rbdm(['--cluster', 'local', 'mgr', 'module', 'enable', 'hello'], { env: { RBDM_MODULE_PATH: GOOD } });
  t.equal(en.code, 0, en.stderr);
  const log = join(c.dir, 'log', 'local-client.rbd-mirror.a.log');
  const asok = join(c.dir, 'mirror.asok');
  const child = spawn(process.execPath, [...RBDM_MIRROR_ARGV, '-f', '--cluster', 'local', '--id', 'rbd-mirror.a', `--log-file=${log}`, '--admin-socket', asok], {
    env: { ...process.env, ...c.env, RBDM_MODULE_PATH: GOOD },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  t.teardown(() => child.kill('SIGKILL'));

  await waitFor(() => existsSync(asok));
  await waitFor(() => existsSync(log) && readFileSync(log, 'utf8').includes('started'));
  t.match(readFileSync(log, 'utf8'), /rbdm-mirror .* started: cluster local, client\.rbd-mirror\.a/);

  const status = JSON.parse(await adminCommand(asok, 'status')) as { entity: string; cluster: string; modules: string[]; pid: number };
  t.equal(status.entity, 'client.rbd-mirror.a');
  t.equal(status.cluster, 'local');
  t.equal(status.pid, child.pid);
  t.ok(status.modules.includes('cluster'));
  t.ok(status.modules.includes('hello'), 'enabled third-party module loaded by the daemon');
  await waitFor(() => readFileSync(log, 'utf8').includes('hello serve started'));
  const health = (JSON.parse(await adminCommand(asok, 'status')) as { health: Record<string, { summary: string; module: string }> }).health;
  t.same(health.HELLO_SERVING, { severity: 'warning', summary: 'hello module is serving', count: 1, detail: ['since start'], module: 'hello' }, 'module health is reported');

  const help = JSON.parse(await adminCommand(asok, { prefix: 'help' })) as Record<string, string>;
  for (const k of ['status', 'help', 'config show', 'log reopen']) t.ok(k in help, `help lists ${k}`);
  const conf = JSON.parse(await adminCommand(asok, 'config show')) as { conf_file: string; conf: { global: { backend: string } } };
  t.equal(conf.conf_file, join(c.dir, 'local.conf'));
  t.equal(conf.conf.global.backend, 'embedded', 'config show includes the conf in effect');

  // mgr module disable/enable elsewhere takes effect in the running daemon, without restart.
  const modEnv = { RBDM_MODULE_PATH: GOOD };
  t.equal((await c.rbdm(['--cluster', 'local', 'mgr', 'module', 'disable', 'hello'], { env: modEnv })).code, 0);
  await waitFor(() => readFileSync(log, 'utf8').includes('hello serve stopped'));
  const after = JSON.parse(await adminCommand(asok, 'status')) as { modules: string[]; health: Record<string, unknown> };
  t.notOk(after.modules.includes('hello'), 'disabled module stopped in the daemon');
  t.notOk('HELLO_SERVING' in after.health, 'its health checks went with it');
  t.equal((await c.rbdm(['--cluster', 'local', 'mgr', 'module', 'enable', 'hello'], { env: modEnv })).code, 0);
  await waitFor(() => readFileSync(log, 'utf8').split('hello serve started').length === 3);
  t.ok((JSON.parse(await adminCommand(asok, 'status')) as { modules: string[] }).modules.includes('hello'), 're-enabled module serving again');

  // logrotate: move the file away, SIGHUP, the daemon writes a new one at the same path.
  renameSync(log, `${log}.1`);
  child.kill('SIGHUP');
  await waitFor(() => existsSync(log) && readFileSync(log, 'utf8').includes('log reopened'));
  t.pass('SIGHUP reopened the log');

  // The CLI reaches a running daemon through its socket, like `ceph daemon`.
  const viaCli = await c.rbdm(['daemon', asok, 'status']);
  t.equal(viaCli.code, 0, viaCli.stderr);
  t.match(viaCli.stdout, /"entity": "client\.rbd-mirror\.a"/);

  child.kill('SIGTERM');
  t.equal(await exited, 0, 'clean exit on SIGTERM');
  t.notOk(existsSync(asok), 'admin socket removed');
  t.match(readFileSync(log, 'utf8'), /\[hello\] hello serve stopped/, 'serve loop ended on SIGTERM');
  t.match(readFileSync(log, 'utf8'), /INFO stopped/);
  t.equal(stderr, '', 'nothing on stderr when logging to a file');
});

t.test('daemon: bad keyring fails fast with the errno', async (t) => {
  const c = new TestClusters('rbdm-d-');
  t.teardown(() => c.cleanup());
  await c.create('local');
  const child = spawn(process.execPath, [...RBDM_MIRROR_ARGV, '-f', '--cluster', 'local', '--id', 'nobody', '--admin-socket', join(c.dir, 'x.asok')], {
    env: { ...process.env, ...c.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((res) => child.on('exit', (c2) => res(c2)));
  t.equal(code, 13);
  t.match(stderr, /rbdm-mirror: .*keyring/);
});
