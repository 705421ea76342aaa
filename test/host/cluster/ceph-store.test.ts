/**
 * The ceph backend on a real single-host Ceph cluster: the Store contract suite, then the
 * addon's own promises (asynchronous I/O, worker threads, errno, idle exit). Skipped with
 * the reason when Ceph or the addon is missing, except under CI, where that fails.
 */
import { spawnSync } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import t from 'tap';
import { startCephClusters, type CephClusters } from '../../harness/ceph-clusters.js';
import { cephTestsUnavailable, openCephHarness } from './ceph-harness.js';
import { rejectsWith } from './contract-harness.js';
import { runStoreContract } from './store-contract.js';

const reason = cephTestsUnavailable();
if (reason) {
  if (process.env['CI']) t.fail(`ceph tests cannot run: ${reason}`);
  else t.skip(`ceph tests skipped: ${reason}`, () => undefined);
} else {
  let run: CephClusters | undefined;
  const info = () => {
    const c = run?.clusters['cephstore'];
    if (!c) throw new Error('cluster not started');
    return c;
  };
  t.before(async () => {
    run = await startCephClusters({ names: ['cephstore'] });
  });
  t.teardown(async () => {
    await run?.stop();
  });

  t.test('Store contract', async (t) => runStoreContract(t, () => openCephHarness(info())));

  t.test('backend specifics', async (t) => {
    const h = await openCephHarness(info());
    t.teardown(() => h.cleanup());
    t.equal(h.cluster.backend, 'ceph');
    t.match(h.cluster.fsid, /^[0-9a-f-]{36}$/);
    t.equal(h.cluster.fsid, info().fsid, 'the fsid of the cluster');
    const { cephBackend } = await import('../../../host/cluster/ceph/index.js');
    await rejectsWith(t, cephBackend.connect({ ...h.connectOptions('client.admin', h.adminKey), conf: { global: {} } }), 'ENOENT', 'ERR_CONF', 'no ceph conf');
    await rejectsWith(t, cephBackend.connect(h.connectOptions('client.admin', 'AQBwrONmAAAAABAAk3aF2t4nLmUOGyCTJ0LcDw==')), 'EACCES', 'ERR_AUTH', 'a wrong key');
    const created = await h.cluster.auth.getOrCreate('client.cephtest', { mon: 'allow r', osd: 'allow rw pool=nothing' });
    t.match(created, { entity: 'client.cephtest', key: /^AQ/, caps: { mon: 'allow r' } }, 'auth get-or-create');
    t.same((await h.cluster.auth.get('client.cephtest')).key, created.key, 'auth get');
    t.ok((await h.cluster.auth.list()).some((e) => e.entity === 'client.cephtest'), 'auth ls');
    await h.cluster.createPool('denied');
    const limited = await h.connect('client.cephtest', created.key);
    const io = await limited.ioctx('denied');
    await rejectsWith(t, io.writeFull('x', Buffer.from('no')), 'EACCES', 'ERR_PERMISSION', 'the OSD enforces caps');
    await io.close();
    t.match(await h.cluster.auth.setCaps('client.cephtest', { mon: 'allow r', osd: 'allow rw' }), { caps: { osd: 'allow rw' } }, 'auth caps');
    await h.cluster.auth.remove('client.cephtest');
    await rejectsWith(t, h.cluster.auth.get('client.cephtest'), 'ENOENT', 'ERR_ENTITY_NOT_FOUND', 'auth del');
    await rejectsWith(t, h.cluster.auth.remove('client.cephtest'), 'ENOENT', 'ERR_ENTITY_NOT_FOUND', 'auth del of a missing entity');
    await h.cluster.deletePool('denied');
  });

  t.test('addon', async (t) => {
    const { Rados } = await import('ceph-napi');
    const c = info();
    const rados = new Rados(c.name, 'client.admin');
    rados.confReadFile(c.confPath);
    rados.confSet('keyring', c.adminKeyringPath);
    await rados.connect();
    t.teardown(() => rados.shutdown());
    await rados.poolCreate('addon');
    const io = await rados.openIoCtx('addon');

    await t.test('errors carry errno and code', async (t) => {
      await t.rejects(io.read('missing', 0, 10), { errno: -2, code: 'ENOENT', message: /No such file or directory/ });
      await t.rejects(rados.poolLookup('no-such-pool'), { errno: -2, code: 'ENOENT' });
      await t.rejects(rados.poolCreate('addon'), { errno: -17, code: 'EEXIST' });
    });

    await t.test('the event loop keeps running during a large write', async (t) => {
      const big = Buffer.alloc(64 * 1024 * 1024, 7);
      let ticks = 0;
      const timer = setInterval(() => ticks++, 1);
      const started = Date.now();
      await io.writeFull('big', big);
      const ms = Date.now() - started;
      clearInterval(timer);
      t.ok(ticks >= Math.min(10, ms / 4), `${ticks} timer ticks during a ${ms} ms write of 64 MiB`);
      t.equal((await io.stat('big')).size, big.length);
    });

    await t.test('works inside a worker thread', async (t) => {
      const w = new Worker(new URL('./ceph-worker-fixture.js', import.meta.url), {
        workerData: { name: c.name, conf: c.confPath, keyring: c.adminKeyringPath },
      });
      const msg = await new Promise<string>((resolve, reject) => {
        w.once('message', resolve);
        w.once('error', reject);
      });
      t.equal(msg, 'hello from a worker');
      t.equal((await io.read('from-worker', 0, 100)).toString(), 'hello from a worker', 'visible to the main thread');
    });

    await t.test('an idle connection does not keep the process alive', async (t) => {
      const script = `
        import { Rados } from 'ceph-napi';
        const r = new Rados(${JSON.stringify(c.name)}, 'client.admin');
        r.confReadFile(${JSON.stringify(c.confPath)});
        r.confSet('keyring', ${JSON.stringify(c.adminKeyringPath)});
        await r.connect();
        const io = await r.openIoCtx('addon');
        await io.writeFull('idle', Buffer.from('x'));
        await io.watch('idle', () => {});
        console.log('idle now, in flight', r.inFlight());
      `;
      const started = Date.now();
      const res = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: new URL('../../../../', import.meta.url).pathname, encoding: 'utf8', timeout: 60_000 });
      t.equal(res.status, 0, `exited by itself (${res.stderr.trim().slice(0, 300)})`);
      t.match(res.stdout, /idle now, in flight 0/);
      t.ok(Date.now() - started < 30_000, `within ${Date.now() - started} ms`);
    });

    await io.close();
    await rados.poolDelete('addon');
  });
}
