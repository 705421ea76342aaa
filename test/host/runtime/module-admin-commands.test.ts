// Modules' admin-socket commands (AdminCommandDecl): declared in the manifest or added while
// serving; served only by a daemon's socket; a clash with the host or another module refused
// with a clear error; removed when the module is disabled.
import t from 'tap';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { adminCommand, AdminSocketServer } from '../../../host/runtime/admin-socket.js';
import { Host } from '../../../host/runtime/host.js';
import { TestClusters } from '../../harness/cli.js';

const DIR = fileURLToPath(new URL('../../fixtures/modules/asok/', import.meta.url));

t.test('module admin commands: register, clash, serve, disable', async (t) => {
  const c = new TestClusters();
  t.teardown(() => c.cleanup());
  await c.create('local');
  const env = { ...c.env, RBDM_MODULE_PATH: DIR };
  for (const m of ['asok-a', 'asok-clash-host', 'asok-clash-module']) {
    const r = await c.rbdm(['--cluster', 'local', 'mgr', 'module', 'enable', m], { env });
    t.equal(r.code, 0, r.stderr);
  }

  // In the CLI there is no socket: registering does nothing, and nothing clashes.
  const cli = await c.rbdm(['--cluster', 'local', 'asok-a', 'available', '--format', 'json'], { env });
  t.equal(cli.code, 0, cli.stderr);
  t.same(JSON.parse(cli.stdout), { available: false, registered: true }, 'CLI: no admin socket, register is a no-op');

  const host = new Host({ clusterName: 'local', entity: 'client.admin', env, validateResults: true });
  const path = join(c.dir, 'm.asok');
  const asok = new AdminSocketServer(path);
  asok.register('version', 'the host\'s own', () => ({ version: 'x' }));
  asok.register('status', 'the host\'s status', () => ({}));
  t.teardown(async () => {
    await host.shutdown();
    await asok.close();
  });
  await host.init();
  host.attachAdminSocket(asok);
  await host.loadModules();
  await asok.start();

  const refused = Object.fromEntries(host.refused.map((r) => [r.name, `${r.error.code}: ${r.error.message}`]));
  t.equal(refused['asok-clash-host'], "ERR_MODULE_PREFIX_CLASH: module 'asok-clash-host': admin socket command 'status' is already registered by the host",
    'a host command is refused by name');
  t.equal(refused['asok-clash-module'], "ERR_MODULE_PREFIX_CLASH: module 'asok-clash-module': admin socket command 'asok-a ping' is already registered by module 'asok-a'",
    "another module's command is refused by name");
  t.notOk(refused['asok-a'], 'the first owner loads');
  t.same(host.adminCommandsOf('asok-clash-host'), [], 'a refused module keeps nothing registered');

  t.same(JSON.parse(await adminCommand(path, 'asok-a ping one two')), { pong: ['one', 'two'], module: 'asok-a' }, 'plain words: trailing words are args');
  t.same(JSON.parse(await adminCommand(path, { prefix: 'asok-a ping' })), { pong: [], module: 'asok-a' }, 'JSON request');
  await t.rejects(adminCommand(path, 'asok-a fail'), { code: 'ERR_ASOK_A_MISSING', errno: 'ENOENT', message: 'no such thing' }, 'a handler error reaches the client as is');
  t.same(JSON.parse(await adminCommand(path, 'status')), {}, 'the host keeps its command');

  host.startServing();
  const deadline = Date.now() + 30_000;
  while (!host.adminCommandsOf('asok-a').includes('asok-a dyn') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  t.equal(await adminCommand(path, 'asok-a dyn'), 'dynamic\n', 'a command added by serve() is served');
  t.equal(await adminCommand(path, 'asok-a clash'),
    "ERR_MODULE_PREFIX_CLASH: module 'asok-a': admin socket command 'version' is already registered by the host", 'a clashing register() throws');
  const help = JSON.parse(await adminCommand(path, 'help')) as Record<string, string>;
  t.match(help, { 'asok-a ping': 'answer pong with the arguments', 'asok-a dyn': 'added while serving', version: "the host's own" }, 'help lists them');
  t.same(host.adminCommandsOf('asok-a'), ['asok-a clash', 'asok-a dyn', 'asok-a fail', 'asok-a ping']);

  // Disabling the module removes every command it had, declared or added.
  const r = await c.rbdm(['--cluster', 'local', 'mgr', 'module', 'disable', 'asok-a'], { env });
  t.equal(r.code, 0, r.stderr);
  const { stopped } = await host.reloadEnabledModules();
  t.ok(stopped.includes('asok-a'), 'asok-a stopped');
  t.same(host.adminCommandsOf('asok-a'), [], 'nothing left registered');
  await t.rejects(adminCommand(path, 'asok-a ping'), { code: 'ERR_UNKNOWN_COMMAND', errno: 'EINVAL' });
  await t.rejects(adminCommand(path, 'asok-a dyn'), { code: 'ERR_UNKNOWN_COMMAND' });
  const help2 = JSON.parse(await adminCommand(path, 'help')) as Record<string, string>;
  t.notOk(Object.keys(help2).some((k) => k.startsWith('asok-a')), 'help no longer lists them');
  t.equal(help2['version'], "the host's own", "the host's commands stay");
});
