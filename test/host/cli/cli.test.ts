// The rbdm CLI as a user runs it: cluster create, pools, auth and caps, global options,
// errors with errno exit codes that change nothing.
import t from 'tap';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { TestClusters } from '../../harness/cli.js';

t.test('cluster create writes conf, keyring and data dir; twice is EEXIST', async (t) => {
  const c = new TestClusters();
  t.teardown(() => c.cleanup());
  const r = await c.rbdm(['--cluster', 'local', 'cluster', 'create', '--data-dir', join(c.dir, 'local-data')]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /created cluster 'local' \(fsid [0-9a-f-]{36}\)/);
  t.ok(existsSync(join(c.dir, 'local.conf')));
  const keyring = join(c.dir, 'local.client.admin.keyring');
  t.match(readFileSync(keyring, 'utf8'), /\[client\.admin\]\n\tkey = AQ[A-Za-z0-9+/=]{38}\n/);
  t.equal(statSync(keyring).mode & 0o777, 0o600, 'keyring is private');
  const again = await c.rbdm(['--cluster', 'local', 'cluster', 'create', '--data-dir', join(c.dir, 'other')]);
  t.equal(again.code, 17);
  t.match(again.stderr, /^rbdm: cluster 'local' already exists/);
  t.notOk(existsSync(join(c.dir, 'other')), 'refusal created nothing');
});

t.test('pools: create, ls, rm with confirmation', async (t) => {
  const c = new TestClusters();
  t.teardown(() => c.cleanup());
  await c.create('local');
  const rb = (...a: string[]) => c.rbdm(['--cluster', 'local', ...a]);
  let r = await rb('pool', 'create', 'image-pool', '8');
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stderr, "pool 'image-pool' created\n");
  r = await rb('pool', 'create', 'image-pool');
  t.equal(r.code, 17, 'existing pool is EEXIST');
  r = await rb('pool', 'create', 'bad/name');
  t.equal(r.code, 22);
  r = await rb('pool', 'ls');
  t.equal(r.stdout, 'image-pool\n');
  r = await rb('pool', 'ls', '--format', 'json');
  t.same(JSON.parse(r.stdout), ['image-pool']);
  r = await rb('pool', 'rm', 'image-pool');
  t.equal(r.code, 1, 'removal without confirmation is EPERM');
  t.match(r.stderr, /PERMANENTLY DESTROY/);
  r = await rb('pool', 'ls');
  t.equal(r.stdout, 'image-pool\n', 'refusal changed nothing');
  r = await rb('pool', 'rm', 'image-pool', 'image-pool', '--yes-i-really-really-mean-it');
  t.equal(r.code, 0, r.stderr);
  r = await rb('pool', 'rm', 'image-pool', 'image-pool', '--yes-i-really-really-mean-it');
  t.equal(r.code, 2, 'unknown pool is ENOENT');
  t.match(r.stderr, /rbdm: error opening pool 'image-pool': \(2\) No such file or directory/);
});

t.test('auth: get-or-create, keyring file, caps enforced, del', async (t) => {
  const c = new TestClusters();
  t.teardown(() => c.cleanup());
  await c.create('local');
  const rb = (...a: string[]) => c.rbdm(['--cluster', 'local', ...a]);
  await rb('pool', 'create', 'a');
  await rb('pool', 'create', 'b');
  const kr = join(c.dir, 'local.client.reader.keyring');
  let r = await rb('auth', 'get-or-create', 'client.reader', 'mon', 'profile rbd', 'osd', 'allow r pool=a', '-o', kr);
  t.equal(r.code, 0, r.stderr);
  t.match(readFileSync(kr, 'utf8'), /^\[client\.reader\]\n\tkey = AQ/);
  r = await rb('auth', 'get-or-create', 'client.reader', 'mon', 'profile rbd', 'osd', 'allow r pool=a');
  t.equal(r.stdout, readFileSync(kr, 'utf8'), 'get-or-create returns the existing key');
  r = await rb('auth', 'get', 'client.reader');
  t.match(r.stdout, /caps osd = "allow r pool=a"/);
  r = await rb('auth', 'ls');
  t.match(r.stdout, /client\.reader\n\tkey: AQ.*\n\tcaps: \[mon\] profile rbd\n\tcaps: \[osd\] allow r pool=a/);

  r = await rb('auth', 'get-or-create', 'client.x', 'mon');
  t.equal(r.code, 22, 'odd caps words');
  r = await rb('auth', 'get-or-create', 'client.x', 'bogus', 'allow r');
  t.equal(r.code, 22, 'unknown cap service');
  r = await rb('auth', 'get-or-create', 'nope', 'mon', 'allow r');
  t.equal(r.code, 22, 'bad entity name');
  r = await rb('auth', 'get', 'client.x');
  t.equal(r.code, 2, 'refusals created nothing');

  // The reader may list pools but not create one (mon caps) — a client without caps gets EACCES.
  r = await c.rbdm(['--cluster', 'local', '--id', 'reader', 'pool', 'create', 'c']);
  t.equal(r.code, 13, r.stderr);
  t.match(r.stderr, /Permission denied/);
  r = await c.rbdm(['--cluster', 'local', '--id', 'reader', 'pool', 'init', 'a']);
  t.equal(r.code, 13, 'osd allow r forbids writes');
  r = await c.rbdm(['--cluster', 'local', '--id', 'reader', 'auth', 'ls']);
  t.equal(r.code, 13, 'auth needs mon allow *');

  r = await c.rbdm(['--cluster', 'local', '--id', 'nobody', 'pool', 'ls']);
  t.equal(r.code, 13, 'no keyring for the entity');
  t.match(r.stderr, /keyring/);

  r = await rb('auth', 'caps', 'client.reader', 'mon', 'allow rw', 'osd', 'allow rw');
  t.equal(r.code, 0, r.stderr);
  r = await c.rbdm(['--cluster', 'local', '--id', 'reader', 'pool', 'create', 'c']);
  t.equal(r.code, 0, 'new caps take effect');

  r = await rb('auth', 'del', 'client.reader');
  t.equal(r.code, 0);
  r = await c.rbdm(['--cluster', 'local', '--id', 'reader', 'pool', 'ls']);
  t.equal(r.code, 13, 'a deleted entity cannot authenticate');
  r = await rb('auth', 'del', 'client.reader');
  t.equal(r.code, 2);
});

t.test('global options and usage errors', async (t) => {
  const c = new TestClusters();
  t.teardown(() => c.cleanup());
  await c.create('local');
  let r = await c.rbdm(['--cluster', 'nope', 'pool', 'ls']);
  t.equal(r.code, 2, 'missing conf is ENOENT');
  t.match(r.stderr, /nope\.conf/);
  r = await c.rbdm(['--conf', join(c.dir, 'local.conf'), '--cluster', 'local', 'pool', 'ls']);
  t.equal(r.code, 0, '--conf works');
  r = await c.rbdm(['--cluster', 'local', 'pool', 'frobnicate']);
  t.equal(r.code, 22);
  t.match(r.stderr, /^rbdm: /);
  r = await c.rbdm(['--cluster', 'local', 'pool']);
  t.equal(r.code, 22);
  t.match(r.stderr, /specify a 'pool' subcommand/);
  r = await c.rbdm(['--cluster', 'local', 'pool', 'ls', '--format', 'xml']);
  t.equal(r.code, 22);
  r = await c.rbdm(['--version']);
  t.match(r.stdout, /^\d+\.\d+\.\d+\n$/);
  r = await c.rbdm(['--cluster', 'local', '--name', 'client.admin', 'pool', 'ls']);
  t.equal(r.code, 0, '--name works');
  r = await c.rbdm(['--cluster', 'local', '--name', 'bogus', 'pool', 'ls']);
  t.equal(r.code, 22, 'bad --name');
  r = await c.rbdm(['--cluster', 'local', '--keyring', join(c.dir, 'missing.keyring'), 'pool', 'ls']);
  t.equal(r.code, 13, 'missing keyring file is an auth error');
});
