// ceph.conf parsing and writing, conf paths, the conf view's lookup order and metavariables,
// and entity names (they pick the conf section).
import t, { type Test } from 'tap';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  expandMetavariables, formatConf, loadConf, parseConf, resolveConfPath,
} from '../../../host/cluster/conf.js';
import { entityFromArgs, parseEntityName } from '../../../host/cluster/entity-name.js';
import type { ConfSections } from '../../../host/cluster/store.js';

const EINVAL = { code: 'ERR_INVALID_ARGUMENT', errno: 'EINVAL' };

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'rbdm-conf-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// JSON round trip: sections are null-prototype objects, compare them as plain data.
const plain = (s: ConfSections) => JSON.parse(JSON.stringify(s)) as unknown;

t.test('parseConf: sections, keys, comments, quotes', async (t) => {
  const text = [
    '\uFEFF# a cluster conf',
    '; another comment',
    '[global]',
    '  fsid = 6b1d2c1e-1b5a-4d7a-9f3c-0c3e2b4a5d6f   ',
    '\tmon host = [v2:10.0.0.1:3300,v1:10.0.0.1:6789]  # trailing comment',
    'rbd default features = 61 ; also a comment',
    'log_file = /var/log/rbdm/$cluster-$name.log',
    'empty =',
    'with equals = a=b',
    'quoted = "has # and ; inside"  # comment after quotes',
    'escaped = "say \\"hi\\" \\\\ there"',
    'spaces = "  padded  "',
    '[ client.admin ]   # header comment',
    'keyring = /etc/rbdm/$cluster.$name.keyring',
    '[client]',
    'rbd-cache = false',
    '[global]',
    'rbd_default_features = 1',
    '',
  ].join('\r\n');
  const s = parseConf(text, 'x.conf');
  t.same(Object.keys(s), ['global', 'client.admin', 'client']);
  t.same(plain(s), {
    global: {
      fsid: '6b1d2c1e-1b5a-4d7a-9f3c-0c3e2b4a5d6f',
      mon_host: '[v2:10.0.0.1:3300,v1:10.0.0.1:6789]',
      // a repeated [global] merges, and the later spelling of the same key wins
      rbd_default_features: '1',
      log_file: '/var/log/rbdm/$cluster-$name.log',
      empty: '',
      with_equals: 'a=b',
      quoted: 'has # and ; inside',
      escaped: 'say "hi" \\ there',
      spaces: '  padded  ',
    },
    'client.admin': { keyring: '/etc/rbdm/$cluster.$name.keyring' },
    client: { rbd_cache: 'false' },
  });
  t.equal(Object.getPrototypeOf(s.global), null, 'no prototype keys leak into lookups');
});

t.test('parseConf: duplicate key, last wins, whatever the spelling', async (t) => {
  const s = parseConf('[global]\nrbd default features = 1\nrbd-default_features = 2\nRBD_DEFAULT_FEATURES = 3\n');
  t.same(plain(s), { global: { rbd_default_features: '3' } });
});

t.test('parseConf: malformed lines name the file and line', async (t) => {
  const cases: [string, RegExp][] = [
    ['[global]\nfsid 1234\n', /^parse error in my\.conf line 2: expected 'key = value', got 'fsid 1234'$/],
    ['[global\nfsid = 1\n', /^parse error in my\.conf line 1: unterminated section header '\[global'$/],
    ['fsid = 1\n[global]\n', /^parse error in my\.conf line 1: 'fsid' is outside any section/],
    ['[global]\n\n\nx = "abc\n', /^parse error in my\.conf line 4: unterminated quoted value$/],
    ['[global]\nx = "abc\\"\n', /line 2: unterminated quoted value$/],
    ['[global]\nx = "abc" def\n', /line 2: unexpected text after quoted value: 'def'$/],
    ['[global] x = 1\n', /line 1: unexpected text after section header: 'x = 1'$/],
    ['[  ]\n', /line 1: empty section name$/],
    ['[global]\n= 1\n', /line 2: missing key before '='/],
    ['[global]\nk"ey = 1\n', /line 2: invalid key 'k"ey'/],
    ['[global]\nkey # = 1\n', /line 2: expected 'key = value', got 'key # = 1'$/],
    ['[a[b]\n', /line 1: invalid section name 'a\[b'$/],
  ];
  for (const [text, message] of cases) {
    t.throws(() => parseConf(text, 'my.conf'), { ...EINVAL, message }, JSON.stringify(text));
  }
  t.throws(() => parseConf('nonsense'), { ...EINVAL, message: /^parse error in <conf> line 1:/ }, 'default origin');
});

t.test('formatConf: readable layout that reads back the same', async (t) => {
  const sections: ConfSections = {
    global: { fsid: 'abc', rbd_default_features: '61', data_dir: '/var/lib/rbdm/local' },
    'client.rbd-mirror.a': { admin_socket: '/run/rbdm/$cluster-$name.asok' },
  };
  const text = formatConf(sections);
  t.equal(text, [
    '[global]',
    '\tfsid = abc',
    '\trbd default features = 61',
    '\tdata dir = /var/lib/rbdm/local',
    '',
    '[client.rbd-mirror.a]',
    '\tadmin socket = /run/rbdm/$cluster-$name.asok',
    '',
  ].join('\n'));
  t.same(plain(parseConf(text)), sections);

  const tricky: ConfSections = {
    global: {
      empty: '',
      hash: 'a # b',
      semi: 'a;b',
      quote: 'say "x"',
      backslash: 'C:\\dir\\',
      padded: ' x ',
      equals: 'a = b',
      dollar: '$cluster',
    },
  };
  t.same(plain(parseConf(formatConf(tricky))), tricky, 'every value survives a round trip');
  t.equal(formatConf({}), '', 'no sections, empty file');
});

t.test('formatConf: refuses what a conf file cannot hold', async (t) => {
  t.throws(() => formatConf({ global: { a: 'line1\nline2' } }), { ...EINVAL, message: /newlines/ });
  t.throws(() => formatConf({ 'bad]name': { a: '1' } }), { ...EINVAL, message: /section name/ });
  t.throws(() => formatConf({ ' global': { a: '1' } }), { ...EINVAL, message: /section name/ });
  t.throws(() => formatConf({ global: { 'a=b': '1' } }), { ...EINVAL, message: /invalid conf key/ });
  t.throws(() => formatConf({ global: { _a: '1' } }), { ...EINVAL, message: /invalid conf key/ });
  t.throws(() => formatConf({ global: { 'a b': '1', a_b: '2' } }), { ...EINVAL, message: /appears twice/ });
});

t.test('resolveConfPath: --conf, then $RBDM_CONF_DIR, then /etc/rbdm', async (t) => {
  t.equal(resolveConfPath({ clusterName: 'local', env: {} }), '/etc/rbdm/local.conf');
  t.equal(resolveConfPath({ clusterName: 'local', env: { RBDM_CONF_DIR: '' } }), '/etc/rbdm/local.conf');
  t.equal(resolveConfPath({ clusterName: 'remote', env: { RBDM_CONF_DIR: '/srv/c' } }), '/srv/c/remote.conf');
  t.equal(resolveConfPath({ clusterName: 'x_1-B', env: { RBDM_CONF_DIR: 'rel' } }), resolve('rel/x_1-B.conf'));
  t.equal(resolveConfPath({ clusterName: 'local', confPath: '/o/my.conf', env: { RBDM_CONF_DIR: '/srv/c' } }), '/o/my.conf');
  t.equal(resolveConfPath({ clusterName: 'local', confPath: 'my.conf' }), resolve('my.conf'));
  for (const bad of ['', 'a/b', '..', 'a b', 'a.b', 'ünï']) {
    t.throws(() => resolveConfPath({ clusterName: bad, env: {} }), { ...EINVAL, message: /invalid cluster name/ }, bad);
  }
  t.throws(() => resolveConfPath({ clusterName: 'local', confPath: '' }), { ...EINVAL, message: /empty --conf/ });
});

t.test('expandMetavariables', async (t) => {
  const vars = { cluster: 'local', type: 'client', id: 'admin', name: 'client.admin', host: 'h', pid: '42' };
  t.equal(expandMetavariables('/run/$cluster-$name.$pid.asok', vars), '/run/local-client.admin.42.asok');
  t.equal(expandMetavariables('${cluster}x $type/$id@$host', vars), 'localx client/admin@h');
  t.equal(expandMetavariables('$idx', vars), 'adminx', 'names match by prefix, as in Ceph');
  t.equal(expandMetavariables('$foo ${bar} $ $$cluster', vars), '$foo ${bar} $ $local', 'unknown ones stay');
});

t.test('loadConf: file, lookup order, metavariables, dir', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'local.conf'), [
    '[global]',
    'fsid = f1',
    'where = global',
    'log file = /var/log/rbdm/$cluster-$name.log',
    'constructor = from-conf',
    '[client]',
    'where = client',
    'only client = yes',
    '[client.rbd-mirror.a]',
    'where = entity',
    'admin socket = /run/rbdm/$cluster-$type.$id-$host-$pid.asok',
    '[mgr]',
    'where = mgr',
  ].join('\n'));
  const env = { RBDM_CONF_DIR: dir };
  const { view, sections } = await loadConf({ clusterName: 'local', entity: 'client.rbd-mirror.a', env });
  t.equal(view.clusterName, 'local');
  t.equal(view.path, join(dir, 'local.conf'));
  t.equal(view.dir, dir);
  t.equal(view.entity, 'client.rbd-mirror.a');
  t.equal(view.get('where'), 'entity');
  t.equal(view.get('only_client'), 'yes');
  t.equal(view.get('FSID'), 'f1');
  t.equal(view.get('log-file'), '/var/log/rbdm/local-client.rbd-mirror.a.log');
  const host = hostname().split('.')[0];
  t.equal(view.get('admin socket'), `/run/rbdm/local-client.rbd-mirror.a-${host}-${process.pid}.asok`);
  t.equal(view.get('missing'), undefined);
  t.equal(view.get('constructor'), 'from-conf');
  t.equal(view.get('toString'), undefined, 'no prototype keys');
  t.equal(sections['global']?.['log_file'], '/var/log/rbdm/$cluster-$name.log', 'sections keep raw values');

  const admin = await loadConf({ clusterName: 'local', entity: 'client.admin', env });
  t.equal(admin.view.get('where'), 'client', '[client] before [global]');
  const mgr = await loadConf({ clusterName: 'local', entity: 'mgr.x', env });
  t.equal(mgr.view.get('where'), 'mgr');
  t.equal(mgr.view.get('only client'), undefined, 'a mgr does not read [client]');
  const osd = await loadConf({ clusterName: 'local', entity: 'osd.0', env });
  t.equal(osd.view.get('where'), 'global');
});

t.test('loadConf: --conf wins over $RBDM_CONF_DIR; view.dir follows the file', async (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, 'elsewhere'));
  writeFileSync(join(dir, 'local.conf'), '[global]\nwho = env\n');
  writeFileSync(join(dir, 'elsewhere', 'x.conf'), '[global]\nwho = opt\n');
  const { view } = await loadConf({
    clusterName: 'local', entity: 'client.admin', confPath: join(dir, 'elsewhere', 'x.conf'), env: { RBDM_CONF_DIR: dir },
  });
  t.equal(view.get('who'), 'opt');
  t.equal(view.dir, join(dir, 'elsewhere'));
});

t.test('loadConf: errors', async (t) => {
  const dir = tempDir(t);
  const env = { RBDM_CONF_DIR: dir };
  const path = join(dir, 'nope.conf');
  await t.rejects(loadConf({ clusterName: 'nope', entity: 'client.admin', env }), {
    code: 'ERR_CONF', errno: 'ENOENT', message: `can't open ${path}: (2) No such file or directory`,
  });
  mkdirSync(join(dir, 'isdir.conf'));
  await t.rejects(loadConf({ clusterName: 'isdir', entity: 'client.admin', env }), {
    code: 'ERR_CONF', message: `can't open ${join(dir, 'isdir.conf')}: (21) Is a directory`,
  });
  writeFileSync(join(dir, 'bad.conf'), '[global]\nfsid = 1\noops\n');
  await t.rejects(loadConf({ clusterName: 'bad', entity: 'client.admin', env }), {
    ...EINVAL, message: `parse error in ${join(dir, 'bad.conf')} line 3: expected 'key = value', got 'oops'`,
  });
  await t.rejects(loadConf({ clusterName: 'bad/x', entity: 'client.admin', env }), { ...EINVAL, message: /invalid cluster name/ });
  writeFileSync(join(dir, 'good.conf'), '[global]\n');
  await t.rejects(loadConf({ clusterName: 'good', entity: 'admin', env }), { ...EINVAL, message: /invalid entity name 'admin'/ });
});

t.test('parseEntityName', async (t) => {
  t.same(parseEntityName('client.admin'), { type: 'client', id: 'admin', name: 'client.admin' });
  t.same(parseEntityName('client.rbd-mirror.a'), { type: 'client', id: 'rbd-mirror.a', name: 'client.rbd-mirror.a' });
  t.same(parseEntityName('mgr.x'), { type: 'mgr', id: 'x', name: 'mgr.x' });
  t.same(parseEntityName('osd.0'), { type: 'osd', id: '0', name: 'osd.0' });
  t.same(parseEntityName('mon.a'), { type: 'mon', id: 'a', name: 'mon.a' });
  t.same(parseEntityName('mds.host1.abc_def'), { type: 'mds', id: 'host1.abc_def', name: 'mds.host1.abc_def' });
  const bad: [string, RegExp][] = [
    ['admin', /expected TYPE\.ID/],
    ['', /expected TYPE\.ID/],
    ['client.', /empty id/],
    ['user.admin', /unknown type 'user'/],
    ['Client.admin', /unknown type 'Client'/],
    ['client.ad min', /the id may hold/],
    ['client.a/b', /the id may hold/],
    ['client.../etc', /the id may hold/],
    ['client.-x', /the id may hold/],
    ['client.a]', /the id may hold/],
    ['client.a\n', /the id may hold/],
  ];
  for (const [s, why] of bad) {
    t.throws(() => parseEntityName(s), { ...EINVAL, message: new RegExp(`^invalid entity name '${s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}': ${why.source}`) }, JSON.stringify(s));
  }
});

t.test('entityFromArgs: --name wins, --id X is client.X, default client.admin', async (t) => {
  t.equal(entityFromArgs({}).name, 'client.admin');
  t.equal(entityFromArgs({ id: undefined, name: undefined }).name, 'client.admin');
  t.equal(entityFromArgs({ id: 'rbd-mirror.a' }).name, 'client.rbd-mirror.a');
  t.equal(entityFromArgs({ name: 'client.local' }).name, 'client.local');
  t.equal(entityFromArgs({ id: 'ignored', name: 'mgr.x' }).name, 'mgr.x');
  t.throws(() => entityFromArgs({ name: 'local' }), { ...EINVAL, message: /invalid entity name 'local'/ });
  t.throws(() => entityFromArgs({ id: '' }), { ...EINVAL, message: /invalid entity name/ });
  t.throws(() => entityFromArgs({ id: 'a b' }), { ...EINVAL, message: /invalid entity name 'client\.a b'/ });
});
