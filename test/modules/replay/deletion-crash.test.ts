// Deletion resumed after a crash (image-deleter.ts): an image removed on the primary while the
// daemon is killed inside its deletion (test hook RBDM_MIRROR_CRASH_AT=deleter-after-disable:
// the replica's mirror record is gone, the image is not) → the restarted daemon finishes it
// from its pending entry: replica gone, no status record or pending entry left, pool status
// counts only the other image.
import t from 'tap';
import { connectCluster } from '../../../host/cluster/connect.js';
import { exitedWithin, md5, mirrored, ok, POOL, startDaemon, waitFor } from './daemon-support.js';
import type { Two } from '../pool-config/support.js';

const CRASH_AT = 'RBDM_MIRROR_CRASH_AT';

async function writeImage(two: Two, image: string): Promise<void> {
  await ok(two.rbdm('local', ['create', `${POOL}/${image}`, '--size', '32M', '--image-feature', 'exclusive-lock,journaling']), `create ${image}`);
  await ok(two.rbdm('local', ['bench', `${POOL}/${image}`, '--io-type', 'write', '--io-size', '64K', '--io-total', '2M', '--io-pattern', 'rand']), `bench ${image}`);
}

async function converged(two: Two, image: string): Promise<string> {
  const want = await md5(two, 'local', image);
  if (want === undefined) throw new Error(`cannot export local ${image}`);
  await waitFor(`${image} identical on remote`, async () => (await md5(two, 'remote', image)) === want, 120_000);
  return want;
}

t.test('deletion: daemon killed after disabling the replica, restart removes it', async (t) => {
  const two = await mirrored(t);
  await writeImage(two, 'gone');
  await writeImage(two, 'kept');
  const a = await startDaemon(t, two, 'a', { [CRASH_AT]: 'deleter-after-disable' });
  await converged(two, 'gone');
  const keptSum = await converged(two, 'kept');
  const st = JSON.parse((await two.rbdm('remote', ['mirror', 'image', 'status', `${POOL}/gone`, '--format', 'json'])).stdout) as { global_id: string };

  const admin = await connectCluster({ clusterName: 'remote', entity: 'client.admin', env: { ...process.env, ...two.c.env } });
  const io = await admin.ioctx(POOL);
  t.teardown(async () => {
    await io.close();
    await admin.shutdown();
  });
  const pending = async () => (await io.omapGetVals('rbd_mirror_deleter', {}).catch(() => ({ entries: new Map() }))).entries.size;
  const statusKeys = async () => (await io.omapGetVals('rbd_mirroring', { prefix: `status_global_${st.global_id}` })).entries.size;

  await ok(two.rbdm('local', ['rm', `${POOL}/gone`, '--no-progress']), 'rm on the primary');
  await exitedWithin(a, 120_000, () => `no crash\n${a.log()}`);
  t.equal(a.child.signalCode, 'SIGKILL', 'daemon a killed itself after disabling the replica');
  t.match(a.stderr(), `${CRASH_AT}=deleter-after-disable`, 'by the test hook');
  const ls1 = await two.rbdm('remote', ['ls', POOL]);
  t.same(ls1.stdout.trim().split('\n').sort(), ['gone', 'kept'], 'the replica is still there');
  const half = await two.rbdm('remote', ['mirror', 'image', 'status', `${POOL}/gone`]);
  t.match(half.stderr, /mirroring not enabled on the image/, 'without its mirror record');
  t.equal(await pending(), 1, 'its deletion is recorded as pending');

  const b = await startDaemon(t, two, 'b');
  await waitFor('replica removed', async () => !(await two.rbdm('remote', ['ls', POOL])).stdout.split('\n').includes('gone'));
  t.match(b.log(), /replica deleted \(primary gone\)/, 'the restarted daemon finished the deletion');
  const ls2 = await two.rbdm('remote', ['ls', POOL]);
  t.same(ls2.stdout.trim().split('\n'), ['kept'], 'rbdm ls: only the other replica');
  const gone = await two.rbdm('remote', ['mirror', 'image', 'status', `${POOL}/gone`]);
  t.equal(gone.code, 2, 'mirror image status of the removed replica: ENOENT exit code');
  t.match(gone.stderr, /No such file or directory/, gone.stderr);
  await waitFor('no pending deletion', async () => (await pending()) === 0, 30_000);
  t.equal(await statusKeys(), 0, 'its status record is removed');

  // The summary folds in the peer site's view (no daemon there: 'unknown'), so the count is
  // what matters: one image, and the verbose list holds only the kept one, replaying here.
  const poolStatus = async () => {
    const r = await two.rbdm('remote', ['mirror', 'pool', 'status', POOL, '--verbose', '--format', 'json']);
    if (r.code !== 0) return undefined;
    const j = JSON.parse(r.stdout) as { summary: { states: Record<string, number> }; images?: { name: string; state: string }[] };
    return { count: Object.values(j.summary.states).reduce((a, b) => a + b, 0), images: (j.images ?? []).map((i) => `${i.name} ${i.state}`) };
  };
  let last: unknown;
  await waitFor('pool status lists the kept replica only', async () => JSON.stringify(last = await poolStatus()) === JSON.stringify({ count: 1, images: ['kept up+replaying'] }), 60_000)
    .catch((e: Error) => {
      throw new Error(`${e.message}: ${JSON.stringify(last)}`);
    });
  t.same(await poolStatus(), { count: 1, images: ['kept up+replaying'] }, 'pool status: 1 image counted, only the kept replica listed');
  t.equal(await md5(two, 'remote', 'kept'), keptSum, 'the other replica is untouched');
  b.child.kill('SIGTERM');
  t.equal(await b.exited, 0, 'daemon b exits cleanly');
});
