// Keyring files: Ceph's layout read and written byte for byte, where a keyring is looked
// for, and the errors a user sees when it is missing or lacks the entity.
import t, { type Test } from 'tap';
import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  formatKeyring, parseKeyring, readKeyringFor, resolveKeyringPath, writeKeyring, type KeyringEntry,
} from '../../../host/cluster/keyring.js';

const EINVAL = { code: 'ERR_INVALID_ARGUMENT', errno: 'EINVAL' };
const KEY = 'AQCZtgZr5M+1LhAABb+7FYt2xBwL0nCHq32Qjg==';
const KEY2 = 'AQBx1gZrAAAAABAAq0m1Y9pV8V0mJb2bW1fN2g==';

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'rbdm-kr-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// What `ceph auth get client.admin` prints on a vstart cluster.
const ADMIN = `[client.admin]
\tkey = ${KEY}
\tcaps mds = "allow *"
\tcaps mgr = "allow *"
\tcaps mon = "allow *"
\tcaps osd = "allow *"
`;

t.test('parseKeyring: the layout ceph auth get prints', async (t) => {
  const ring = parseKeyring(ADMIN);
  t.same([...ring.keys()], ['client.admin']);
  t.same(ring.get('client.admin'), { key: KEY, caps: { mds: 'allow *', mgr: 'allow *', mon: 'allow *', osd: 'allow *' } });

  // As in 007-auth-rbd-mirror-local: no caps lines, plus hand-edited extras Ceph accepts.
  const two = parseKeyring([
    '# written by hand',
    '[global]',
    'whatever = ignored',
    '[client.rbd-mirror.a]',
    `key = ${KEY}`,
    '',
    '[client.rbd-mirror-peer]',
    `    key = ${KEY2}`,
    '    caps_mon = "profile rbd-mirror-peer"',
    '    caps osd = "profile rbd pool=image-pool, allow r pool=\\"x\\""',
    '    auid = 0',
  ].join('\n'));
  t.same([...two.keys()], ['client.rbd-mirror.a', 'client.rbd-mirror-peer']);
  t.same(two.get('client.rbd-mirror.a'), { key: KEY, caps: {} });
  t.same(two.get('client.rbd-mirror-peer')?.caps, { mon: 'profile rbd-mirror-peer', osd: 'profile rbd pool=image-pool, allow r pool="x"' });
});

t.test('parseKeyring: bad input names the file and entry', async (t) => {
  const cases: [string, RegExp][] = [
    ['[client.a]\ncaps mon = "allow r"\n', /^parse error in k\.keyring \[client\.a\]: no key$/],
    ['[client.a]\nkey = not-base64!\n', /^parse error in k\.keyring \[client\.a\]: the key is not base64$/],
    ['[client.a]\nkey = AQC\n', /the key is not base64$/],
    ['[client.a]\nkey =\n', /the key is not base64$/],
    [`[client.a]\nkey = ${KEY}\nsecret = x\n`, /\[client\.a\]: unknown field 'secret'$/],
    [`[client.a]\nkey = ${KEY}\ncaps foo = "allow"\n`, /\[client\.a\]: unknown cap type 'foo' \(expected mon, osd, mgr, mds\)$/],
    [`[admin]\nkey = ${KEY}\n`, /^parse error in k\.keyring \[admin\]: invalid entity name 'admin'/],
    // base64 padding is an '=': the line reads as a key with a space in it
    [`[client.a]\nkey ${KEY}\n`, /^parse error in k\.keyring line 2: invalid key 'key AQC/],
    ['[client.a]\nkey\n', /^parse error in k\.keyring line 2: expected 'key = value', got 'key'$/],
  ];
  for (const [text, message] of cases) t.throws(() => parseKeyring(text, 'k.keyring'), { ...EINVAL, message }, JSON.stringify(text));
});

t.test('formatKeyring: exactly ceph auth get, and it reads back', async (t) => {
  const caps = { osd: 'allow *', mon: 'allow *', mgr: 'allow *', mds: 'allow *' };
  t.equal(formatKeyring(new Map([['client.admin', { key: KEY, caps }]])), ADMIN, 'caps sorted by service');
  t.equal(formatKeyring([['client.rbd-mirror.a', { key: KEY, caps: {} }]]), `[client.rbd-mirror.a]\n\tkey = ${KEY}\n`);

  const entries = new Map<string, KeyringEntry>([
    ['client.b', { key: KEY2, caps: { mon: 'profile rbd', osd: 'allow r pool="a b"; allow w \\ x' } }],
    ['client.a', { key: KEY, caps: { mon: '' } }],
  ]);
  const text = formatKeyring(entries);
  t.equal(text, [
    '[client.b]',
    `\tkey = ${KEY2}`,
    '\tcaps mon = "profile rbd"',
    '\tcaps osd = "allow r pool=\\"a b\\"; allow w \\\\ x"',
    '[client.a]',
    `\tkey = ${KEY}`,
    '\tcaps mon = ""',
    '',
  ].join('\n'), 'entries keep their order, no blank lines, quotes escaped');
  t.same([...parseKeyring(text)], [...entries]);
});

t.test('formatKeyring: refuses entries a keyring cannot hold', async (t) => {
  t.throws(() => formatKeyring([['admin', { key: KEY, caps: {} }]]), { ...EINVAL, message: /invalid entity name 'admin'/ });
  t.throws(() => formatKeyring([['client.a', { key: 'x y', caps: {} }]]), { ...EINVAL, message: 'the key of client.a is not base64' });
  t.throws(() => formatKeyring([['client.a', { key: KEY, caps: { rgw: 'allow' } }]]), { ...EINVAL, message: /unknown cap type 'rgw'/ });
  t.throws(() => formatKeyring([['client.a', { key: KEY, caps: { mon: 'a\nb' } }]]), { ...EINVAL, message: /newline/ });
  t.throws(() => formatKeyring([['client.a', { key: KEY, caps: {} }], ['client.a', { key: KEY, caps: {} }]]), { ...EINVAL, message: /given twice/ });
});

t.test('resolveKeyringPath: --keyring, then conf keyring, then beside the conf', async (t) => {
  const base = { confDir: '/etc/rbdm', clusterName: 'local', entity: 'client.admin' };
  t.equal(resolveKeyringPath(base), '/etc/rbdm/local.client.admin.keyring');
  t.equal(resolveKeyringPath({ ...base, entity: 'client.rbd-mirror.a', clusterName: 'remote' }), '/etc/rbdm/remote.client.rbd-mirror.a.keyring');
  t.equal(resolveKeyringPath({ ...base, confKeyring: '/k/local.client.admin.keyring' }), '/k/local.client.admin.keyring');
  t.equal(resolveKeyringPath({ ...base, confKeyring: 'keys/admin.keyring' }), '/etc/rbdm/keys/admin.keyring', 'relative to the conf dir');
  t.equal(resolveKeyringPath({ ...base, confKeyring: '' }), '/etc/rbdm/local.client.admin.keyring');
  t.equal(resolveKeyringPath({ ...base, keyringOpt: '/opt/k', confKeyring: '/k/x' }), '/opt/k');
  t.equal(resolveKeyringPath({ ...base, keyringOpt: 'my.keyring' }), resolve('my.keyring'));
  t.equal(resolveKeyringPath({ ...base, confDir: 'rel' }), resolve('rel/local.client.admin.keyring'));
  t.throws(() => resolveKeyringPath({ ...base, clusterName: '../x' }), { ...EINVAL, message: /invalid cluster name/ });
  t.throws(() => resolveKeyringPath({ ...base, entity: 'client.a/../../b' }), { ...EINVAL, message: /invalid entity name/ });
  t.throws(() => resolveKeyringPath({ ...base, keyringOpt: '' }), { ...EINVAL, message: /empty --keyring/ });
});

t.test('readKeyringFor: the entry, or a clear ERR_AUTH', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'local.client.admin.keyring');
  writeFileSync(path, ADMIN + `[client.other]\n\tkey = ${KEY2}\n`);
  t.same(await readKeyringFor({ path, entity: 'client.admin' }), { key: KEY, caps: { mds: 'allow *', mgr: 'allow *', mon: 'allow *', osd: 'allow *' } });
  t.same(await readKeyringFor({ path, entity: 'client.other' }), { key: KEY2, caps: {} });

  await t.rejects(readKeyringFor({ path, entity: 'client.nobody' }), {
    code: 'ERR_AUTH', errno: 'EACCES', message: `keyring ${path} has no key for client.nobody (it holds client.admin, client.other)`,
  });
  const missing = join(dir, 'local.client.x.keyring');
  await t.rejects(readKeyringFor({ path: missing, entity: 'client.x' }), {
    code: 'ERR_AUTH', errno: 'EACCES', message: `unable to find a keyring on ${missing} for client.x: No such file or directory`,
  });
  const empty = join(dir, 'empty.keyring');
  writeFileSync(empty, '# nothing yet\n');
  await t.rejects(readKeyringFor({ path: empty, entity: 'client.admin' }), { code: 'ERR_AUTH', message: /has no key for client\.admin \(it is empty\)$/ });
  const bad = join(dir, 'bad.keyring');
  writeFileSync(bad, '[client.admin]\nkey = ???\n');
  await t.rejects(readKeyringFor({ path: bad, entity: 'client.admin' }), { ...EINVAL, message: `parse error in ${bad} [client.admin]: the key is not base64` });
  await t.rejects(readKeyringFor({ path, entity: 'admin' }), { ...EINVAL, message: /invalid entity name/ });
});

t.test('writeKeyring: mode 0600, atomic, nothing written on bad input', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'local.client.admin.keyring');
  const oldMask = process.umask(0);
  t.teardown(() => process.umask(oldMask));

  await writeKeyring(path, new Map([['client.admin', { key: KEY, caps: { mon: 'allow *', osd: 'allow *', mgr: 'allow *', mds: 'allow *' } }]]));
  t.equal(readFileSync(path, 'utf8'), ADMIN);
  t.equal(statSync(path).mode & 0o777, 0o600, 'new file is 0600 even with umask 0');

  chmodSync(path, 0o644);
  await writeKeyring(path, [['client.admin', { key: KEY2, caps: {} }]]);
  t.equal(readFileSync(path, 'utf8'), `[client.admin]\n\tkey = ${KEY2}\n`, 'replaced');
  t.equal(statSync(path).mode & 0o777, 0o600, 'a replaced 0644 keyring comes back 0600');

  const before = readFileSync(path, 'utf8');
  await t.rejects(writeKeyring(path, [['client.admin', { key: 'bad key', caps: {} }]]), { ...EINVAL, message: /not base64/ });
  t.equal(readFileSync(path, 'utf8'), before, 'unchanged after a refused write');
  t.same(readdirSync(dir), ['local.client.admin.keyring'], 'no temp file left');

  const nodir = join(dir, 'missing', 'k.keyring');
  await t.rejects(writeKeyring(nodir, [['client.admin', { key: KEY, caps: {} }]]), {
    code: 'ERR_AUTH', errno: 'ENOENT', message: `can't write keyring ${nodir}: (2) No such file or directory`,
  });
  t.same(readdirSync(dir), ['local.client.admin.keyring'], 'nothing created');
});
