// Third-party modules from outside modules/: discovery, enable/disable, --help, dispatch,
// services, options, notifications; broken ones refused while the host keeps going.
import t from 'tap';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TestClusters } from '../../harness/cli.js';

const GOOD = fileURLToPath(new URL('../../fixtures/modules/good/', import.meta.url));
const BROKEN = fileURLToPath(new URL('../../fixtures/modules/broken/', import.meta.url));

t.test('a third-party module loads only once enabled, then shows in --help and runs', async (t) => {
  const c = new TestClusters();
  t.teardown(() => c.cleanup());
  await c.create('local');
  const env = { RBDM_MODULE_PATH: GOOD };

  let r = await c.rbdm(['--cluster', 'local', 'mgr', 'module', 'ls', '--format', 'json'], { env });
  t.equal(r.code, 0, r.stderr);
  const ls = JSON.parse(r.stdout) as { always_on_modules: string[]; enabled_modules: string[]; disabled_modules: Array<{ name: string }> };
  t.ok(ls.always_on_modules.includes('cluster'), 'built-in cluster module is always on');
  t.ok(ls.always_on_modules.includes('mgr'));
  t.same(ls.enabled_modules, []);
  t.same(ls.disabled_modules.map((d) => d.name).sort(), ['hello', 'hello-user']);

  r = await c.rbdm(['--cluster', 'local', 'hello', 'greet', 'bob'], { env });
  t.equal(r.code, 22, 'disabled module commands are unknown');
  t.match(r.stderr, /^rbdm: /m);

  r = await c.rbdm(['--cluster', 'local', 'mgr', 'module', 'enable', 'hello'], { env });
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, '', 'rule of silence');

  r = await c.rbdm(['--cluster', 'local', '--help'], { env });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /hello greet <name>/, '--help lists the third-party command');

  r = await c.rbdm(['--cluster', 'local', 'hello', 'greet', 'bob', '--shout', '--times', '2'], { env });
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, 'HELLO, BOB HELLO, BOB\n');

  r = await c.rbdm(['--cluster', 'local', 'hello', 'greet', 'bob', '--format', 'json'], { env });
  t.same(JSON.parse(r.stdout), { greeting: 'hello, bob' });

  r = await c.rbdm(['--cluster', 'local', 'hello', 'greet', 'bob', '--format', 'json', '--pretty-format'], { env });
  t.equal(r.stdout, '{\n    "greeting": "hello, bob"\n}\n', 'pretty JSON indents 4 spaces like rbd');

  // Validation errors come from ajv through one formatter, with EINVAL.
  r = await c.rbdm(['--cluster', 'local', 'hello', 'greet', 'bob', '--times', '9'], { env });
  t.equal(r.code, 22);
  t.match(r.stderr, /rbdm: hello greet: argument 'times' must be <= 3/);
  r = await c.rbdm(['--cluster', 'local', 'hello', 'greet', 'bob', '--bogus'], { env });
  t.equal(r.code, 22);
  t.match(r.stderr, /Unknown argument: bogus/);
  r = await c.rbdm(['--cluster', 'local', 'hello', 'greet', 'nobody'], { env });
  t.equal(r.code, 22);
  t.equal(r.stderr, 'rbdm: cannot greet nobody\n');

  // The host's worker pool runs a module's worker file.
  r = await c.rbdm(['--cluster', 'local', 'hello', 'checksum', 'abc', '--format', 'json'], { env });
  t.same(JSON.parse(r.stdout), { digest: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad', in_worker: true });

  // Options: declared, validated, stored in the cluster.
  r = await c.rbdm(['--cluster', 'local', 'mgr', 'config', 'set', 'hello/greeting_word', 'hi'], { env });
  t.equal(r.code, 0, r.stderr);
  r = await c.rbdm(['--cluster', 'local', 'hello', 'greet', 'bob'], { env });
  t.equal(r.stdout, 'hi, bob\n');
  r = await c.rbdm(['--cluster', 'local', 'mgr', 'config', 'set', 'hello/greeting_word', '""'], { env });
  t.equal(r.code, 22, 'an option value failing its schema is refused');
  r = await c.rbdm(['--cluster', 'local', 'mgr', 'config', 'get', 'hello/greeting_word'], { env });
  t.equal(r.stdout, 'hi\n', 'refused value changed nothing');
  r = await c.rbdm(['--cluster', 'local', 'mgr', 'config', 'set', 'hello/nope', '1'], { env });
  t.equal(r.code, 2, 'undeclared option is ENOENT');

  // Services between modules need a declared dependency.
  r = await c.rbdm(['--cluster', 'local', 'mgr', 'module', 'enable', 'hello-user'], { env });
  t.equal(r.code, 0, r.stderr);
  r = await c.rbdm(['--cluster', 'local', 'hello-user', 'run', 'ann'], { env });
  t.equal(r.stdout, 'hi, ann\n');

  // Notifications reach the modules that declared the type.
  r = await c.rbdm(['--cluster', 'local', 'hello', 'notify', 'p1', '--format', 'json'], { env });
  t.same(JSON.parse(r.stdout), ['pool_changed:p1']);

  r = await c.rbdm(['--cluster', 'local', 'mgr', 'module', 'disable', 'hello'], { env });
  t.equal(r.code, 0);
  r = await c.rbdm(['--cluster', 'local', 'hello-user', 'run', 'ann'], { env });
  t.equal(r.code, 22, 'a module whose dependency was disabled is not loaded');
  t.match(r.stderr, /depends on 'hello'/);

  r = await c.rbdm(['--cluster', 'local', 'mgr', 'module', 'disable', 'cluster'], { env });
  t.equal(r.code, 22, 'always-on modules cannot be disabled');
  r = await c.rbdm(['--cluster', 'local', 'mgr', 'module', 'enable', 'no-such'], { env });
  t.equal(r.code, 2);
});

t.test('broken modules are refused with a clear reason and the host keeps going', async (t) => {
  const c = new TestClusters();
  t.teardown(() => c.cleanup());
  await c.create('local');
  const env = { RBDM_MODULE_PATH: `${BROKEN}:${GOOD}` };
  for (const m of ['api-mismatch', 'missing-dep', 'clash', 'init-fails', 'hello']) {
    const r = await c.rbdm(['--cluster', 'local', 'mgr', 'module', 'enable', m], { env });
    if (m === 'api-mismatch') {
      t.equal(r.code, 22, 'enabling an incompatible module is refused');
      t.match(r.stderr, /needs host API \^2, this host offers 1\.0\.0/);
    } else {
      t.equal(r.code, 0, `${m}: ${r.stderr}`);
    }
  }
  const r = await c.rbdm(['--cluster', 'local', 'hello', 'greet', 'bob'], { env });
  t.equal(r.code, 0, 'a good module still runs next to broken ones');
  t.equal(r.stdout, 'hello, bob\n');
  t.match(r.stderr, /module 'Bad_Name'|module 'bad-name': name must be lowercase/, 'bad name reported');
  t.match(r.stderr, /module 'throws' failed to import: this module is broken at import time/);
  t.match(r.stderr, /module 'missing-dep' depends on 'no-such-module'/);
  t.match(r.stderr, /module 'clash': command 'pool create' is already declared by module 'cluster'/);
  t.match(r.stderr, /cannot wire up/);

  const ls = await c.rbdm(['--cluster', 'local', 'mgr', 'module', 'ls', '--format', 'json'], { env });
  const parsed = JSON.parse(ls.stdout) as { disabled_modules: Array<{ name: string; can_run: boolean; error_string: string }> };
  const clash = parsed.disabled_modules.find((d) => d.name === 'clash');
  t.equal(clash?.can_run, false);
  t.match(clash?.error_string, /already declared/);

  const pool = await c.rbdm(['--cluster', 'local', 'pool', 'create', 'p1'], { env });
  t.equal(pool.code, 0, 'the built-in pool create still belongs to the cluster module');
});

t.test('module directories from the conf: mgr module path', async (t) => {
  const c = new TestClusters();
  t.teardown(() => c.cleanup());
  await c.create('local');
  const { appendFileSync } = await import('node:fs');
  appendFileSync(join(c.dir, 'local.conf'), `[global]\nmgr module path = ${GOOD}\n`);
  const r = await c.rbdm(['--cluster', 'local', 'mgr', 'module', 'ls', '--format', 'json']);
  t.match(r.stdout, /"hello"/);
});
