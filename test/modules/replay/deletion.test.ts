// Deletion (image-deleter.ts): an image removed on the primary site is removed from the
// destination by the daemon: deferred while a client still watches the replica, then done,
// with its status record; a local primary that the peer does not have is left alone.
import t from 'tap';
import { connectCluster } from '../../../host/cluster/connect.js';
import { converged, md5, mirrored, ok, POOL, startDaemon, waitFor, writtenImage } from './two-sites.js';

t.test('deletion: removed on the primary → replica removed (after a watcher leaves); local primary kept', async (t) => {
  const two = await mirrored(t);
  const daemon = await startDaemon(t, two, 'remote');
  await writtenImage(two, 'local', 'gone');
  await writtenImage(two, 'local', 'kept');
  await writtenImage(two, 'remote', 'own');
  await converged(two, 'gone');
  const keptSum = await converged(two, 'kept');
  const ownSum = await md5(two, 'remote', 'own');

  const info = JSON.parse(await ok(two.rbdm('remote', ['info', `${POOL}/gone`, '--format', 'json']), 'info')) as { id: string };
  const st = JSON.parse(await ok(two.rbdm('remote', ['mirror', 'image', 'status', `${POOL}/gone`, '--format', 'json']), 'status')) as { global_id: string };

  // A client watching the replica's header: removal must wait for it (EBUSY), not fail for good.
  const admin = await connectCluster({ clusterName: 'remote', entity: 'client.admin', env: { ...process.env, ...two.c.env } });
  t.teardown(() => admin.shutdown());
  const io = await admin.ioctx(POOL);
  const watch = await io.watch(`rbd_header.${info.id}`, () => undefined);

  await ok(two.rbdm('local', ['rm', `${POOL}/gone`, '--no-progress']), 'rm on the primary');
  await waitFor('a deferred deletion', async () => /deleting the replica failed .*retrying in/.test(daemon.log()));
  t.equal((await two.rbdm('remote', ['info', `${POOL}/gone`])).code, 0, 'the replica is kept while a client watches it');

  await watch.close();
  await waitFor('replica removed', async () => (await two.rbdm('remote', ['info', `${POOL}/gone`])).code !== 0);
  const gone = await two.rbdm('remote', ['info', `${POOL}/gone`]);
  t.match(gone.stderr, /No such file or directory|not found|does not exist/i, 'the replica is gone (ENOENT)');
  const statusKeys = await io.omapGetVals('rbd_mirroring', { prefix: `status_global_${st.global_id}` });
  t.equal(statusKeys.entries.size, 0, 'its status record is removed');
  const pending = await io.omapGetVals('rbd_mirror_deleter', {}).catch(() => ({ entries: new Map() }));
  t.equal(pending.entries.size, 0, 'no deletion left pending');

  t.equal(await md5(two, 'remote', 'kept'), keptSum, 'the other replica is untouched');
  t.equal(await md5(two, 'remote', 'own'), ownSum, 'a local primary the peer never had is untouched');
  const own = JSON.parse(await ok(two.rbdm('remote', ['info', `${POOL}/own`, '--format', 'json']), 'info own')) as { mirroring: { primary: boolean } };
  t.equal(own.mirroring.primary, true, 'and still primary');
  const ls = await ok(two.rbdm('remote', ['ls', POOL]), 'ls');
  t.same(ls.trim().split('\n').sort(), ['kept', 'own'], 'remote pool holds the rest');

  await io.close();
  daemon.child.kill('SIGTERM');
  t.equal(await daemon.exited, 0, 'daemon exits cleanly');
});
