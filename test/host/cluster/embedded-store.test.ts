/**
 * The embedded backend: the Store contract, then what only this backend has (its data
 * directory, group commit, sparse chunks, the data file of large writes, several processes
 * on one cluster, auth and caps).
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { createEmbeddedCluster, embeddedBackend, generateCephxKey } from '../../../host/cluster/embedded/index.js';
import type { EmbeddedCluster } from '../../../host/cluster/embedded/cluster.js';
import { B, rejectsWith } from './contract-harness.js';
import { authTests } from './embedded-auth.js';
import { chunkRows, openEmbeddedHarness, readOnlyStore, withHarness } from './embedded-harness.js';
import { multiProcessTests } from './embedded-multiprocess.js';
import { unitTests } from './embedded-units.js';
import { runStoreContract } from './store-contract.js';


t.test('Store contract', async (t) => runStoreContract(t, openEmbeddedHarness));

t.test('cephx keys', async (t) => {
  const key = generateCephxKey();
  t.match(key, /^AQ[A-Za-z0-9+/]{36}==$/, '40 base64 characters starting AQ');
  const raw = Buffer.from(key, 'base64');
  t.equal(raw.length, 28);
  t.equal(raw.readUInt16LE(0), 1, 'type AES');
  t.ok(Math.abs(raw.readUInt32LE(2) - Date.now() / 1000) < 60, 'created now');
  t.equal(raw.readUInt16LE(10), 16, 'a 16-byte secret');
  t.not(generateCephxKey(), key, 'random');
});

t.test('creating and opening a cluster', (t) =>
  withHarness(t, async (h) => {
    await rejectsWith(t, createEmbeddedCluster(h.dataDir, { fsid: randomUUID(), adminKey: generateCephxKey() }), 'EEXIST', 'ERR_CLUSTER_EXISTS', 'a second create');
    await rejectsWith(t, createEmbeddedCluster(join(h.dir, 'x'), { fsid: 'not-a-uuid', adminKey: generateCephxKey() }), 'EINVAL', 'ERR_INVALID_ARGUMENT', 'bad fsid');
    await rejectsWith(t, createEmbeddedCluster(join(h.dir, 'x'), { fsid: randomUUID(), adminKey: 'secret' }), 'EINVAL', 'ERR_INVALID_ARGUMENT', 'bad key');
    const opts = h.connectOptions('client.admin', h.adminKey);
    await rejectsWith(t, embeddedBackend.connect({ ...opts, conf: { global: {} } }), 'ENOENT', 'ERR_CONF', 'no data dir in the conf');
    mkdirSync(join(h.dir, 'empty'));
    await rejectsWith(t, embeddedBackend.connect({ ...opts, conf: { global: { data_dir: join(h.dir, 'empty') } } }), 'ENOENT', 'ERR_CONF', 'a directory without a store');
    await rejectsWith(t, embeddedBackend.connect({ ...opts, conf: { global: { data_dir: h.dataDir, fsid: randomUUID() } } }), 'ENOENT', 'ERR_CONF', 'another fsid');
    t.equal(h.cluster.fsid, h.fsid);
    t.equal(h.cluster.backend, 'embedded');
    const io = await h.cluster.ioctx((await h.cluster.createPool('p')).name);
    await io.writeFull('kept', B('across connections'));
    await io.close();
    const c2 = await h.connect('client.admin', h.adminKey);
    t.ok(Number(c2.instanceId) > Number(h.cluster.instanceId), 'instance ids increase');
    t.same(await (await c2.ioctx('p')).read('kept'), B('across connections'), 'data is in the directory');
    await createEmbeddedCluster(join(h.dir, 'deep', 'new'), { fsid: randomUUID(), adminKey: generateCephxKey() });
    t.pass('create makes missing directories');
  }),
);

t.test('group commit: one transaction per turn, one savepoint per op', (t) =>
  withHarness(t, async (h) => {
    await h.cluster.createPool('g');
    const io = await h.cluster.ioctx('g');
    await io.writeFull('guarded', B('v1'));
    const stats = (h.cluster as EmbeddedCluster).committer.stats;
    const before = { ...stats };
    const ops = Array.from({ length: 64 }, (_, i) => io.writeFull(`o${i}`, B(String(i))));
    const failing = io.operate('guarded', { guards: [{ op: 'cmp_xattr', name: 'x', cmp: 'eq', value: B('nope') }], steps: [{ op: 'write_full', data: B('v2') }] });
    const results = await Promise.allSettled([...ops, failing]);
    t.equal(stats.writeTransactions - before.writeTransactions, 1, '65 ops issued together committed in one transaction');
    t.equal(stats.writeOps - before.writeOps, 65);
    t.equal(results.filter((r) => r.status === 'fulfilled').length, 64, 'the other ops committed');
    t.match(results[64], { status: 'rejected', reason: { code: 'ERR_GUARD_FAILED' } }, 'the failed guard rolled back only its own op');
    t.same(await io.read('guarded'), B('v1'));
    t.same(await io.read('o63'), B('63'));
    await io.close();
  }),
);

t.test('holes are not stored', (t) =>
  withHarness(t, async (h) => {
    await h.cluster.createPool('sparse');
    const io = await h.cluster.ioctx('sparse');
    const db = readOnlyStore(t, h);
    const rows = (oid: string) => {
      const r = chunkRows(db, oid);
      return r.inline + r.units;
    };
    await io.truncate('s', 0);
    await io.writeFull('s', B(''));
    await io.truncate('s', 100 * 1024 * 1024);
    t.equal(rows('s'), 0, 'a 100 MiB truncate stores nothing');
    await io.write('s', Buffer.alloc(5000, 1), 50 * 1024 * 1024);
    const some = rows('s');
    t.ok(some > 0 && some <= 3, `a 5000-byte write stores its chunks only (${some})`);
    await io.write('s', Buffer.alloc(5000), 50 * 1024 * 1024);
    t.equal(rows('s'), 0, 'overwriting with zeros frees them');
    await io.writeFull('z', Buffer.alloc(1024 * 1024));
    t.equal(rows('z'), 0, 'a write of zeros stores nothing');
    await io.writeFull('d', Buffer.alloc(1024 * 1024, 7));
    const full = rows('d');
    await io.operate('d', { steps: [{ op: 'zero', offset: 0, length: 512 * 1024 }] });
    t.ok(rows('d') <= full / 2 + 1, 'zeroing a range frees its chunks');
    t.same(await io.read('d', 512 * 1024 - 2, 4), B('\0\0\x07\x07'), 'and reads back right');
    await io.close();
  }),
);

t.test('shutdown', (t) =>
  withHarness(t, async (h) => {
    await h.cluster.createPool('s');
    const c = await h.connect('client.admin', h.adminKey);
    const io = await c.ioctx('s');
    await io.writeFull('o', B('x'));
    await io.watch('o', () => undefined);
    const io2 = await c.ioctx('s');
    await io2.close();
    await rejectsWith(t, io2.read('o'), 'EBLOCKLISTED', 'ERR_SHUTDOWN', 'a closed ioctx refuses work');
    const admin = await h.cluster.ioctx('s');
    t.equal((await admin.listWatchers('o')).length, 1);
    await c.shutdown();
    t.same(await admin.listWatchers('o'), [], 'shutdown removed its watches');
    await rejectsWith(t, io.read('o'), 'EBLOCKLISTED', 'ERR_SHUTDOWN', 'an ioctx of a shut-down connection refuses work');
    await rejectsWith(t, c.listPools(), 'EBLOCKLISTED', 'ERR_SHUTDOWN', 'so does the connection');
    await c.shutdown();
    t.pass('shutdown twice is harmless');
    await admin.close();
  }),
);

authTests(t);
unitTests(t);
multiProcessTests(t);
