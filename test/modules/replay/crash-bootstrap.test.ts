// Crash holes of the bootstrap (bootstrap-request.ts, resync-request.ts): the daemon SIGKILLs
// itself through the test hook RBDM_MIRROR_CRASH_AT (crash-points.ts) (1) after creating a
// replica and before recording it, (2) in a resync after `disable --force` and before the
// removal. Each leaves an image under the primary's name without a mirror record; a restarted
// daemon knows it as its own (the id its client recorded on the primary's journal), removes it
// and converges. (3) An operator's own image under the primary's name is never touched: error
// status with the reason, data unchanged.
import t, { type Test } from 'tap';
import type { Two } from '../pool-config/support.js';
import { exitedWithin, imageStatus, md5, mirrored, ok, POOL, startDaemon, waitFor, type Daemon } from './daemon-support.js';

const CRASH_AT = 'RBDM_MIRROR_CRASH_AT';

async function writeImage(two: Two, site: 'local' | 'remote', image: string, features: string, total = '2M'): Promise<void> {
  await ok(two.rbdm(site, ['create', `${POOL}/${image}`, '--size', '32M', '--image-feature', features]), `create ${site} ${image}`);
  await ok(two.rbdm(site, ['bench', `${POOL}/${image}`, '--io-type', 'write', '--io-size', '64K', '--io-total', total, '--io-pattern', 'rand']), `bench ${site} ${image}`);
}

async function converged(two: Two, image: string): Promise<string> {
  const want = await md5(two, 'local', image);
  if (want === undefined) throw new Error(`cannot export local ${image}`);
  await waitFor(`${image} identical on remote`, async () => (await md5(two, 'remote', image)) === want, 120_000);
  return want;
}

async function killedByHook(t: Test, d: Daemon, point: string): Promise<void> {
  await exitedWithin(d, 120_000, () => `daemon ${d.id} did not reach ${point}\n${d.log()}`);
  t.equal(d.child.signalCode, 'SIGKILL', `daemon ${d.id} killed itself at ${point}`);
  t.match(d.stderr(), `${CRASH_AT}=${point}`, 'by the test hook');
}

/** The crash window's state: an image under the name, and no mirror record for it. */
async function unrecordedReplica(t: Test, two: Two, image: string): Promise<void> {
  const ls = await two.rbdm('remote', ['ls', POOL]);
  t.ok(ls.stdout.split('\n').includes(image), `after the crash ${image} exists on remote`);
  const st = await two.rbdm('remote', ['mirror', 'image', 'status', `${POOL}/${image}`]);
  t.not(st.code, 0, 'and has no mirror record');
  t.match(st.stderr, /mirroring not enabled on the image/, st.stderr);
}

async function replaying(two: Two, image: string): Promise<void> {
  await waitFor(`${image} up+replaying`, async () => (await imageStatus(two, image))?.state === 'up+replaying', 60_000);
}

t.test('crash after creating the replica, crash in a resync: restart converges', async (t) => {
  const two = await mirrored(t);
  const IMAGE = 'image-1';

  // (1) killed between CREATE_LOCAL_IMAGE and RECORD_NON_PRIMARY.
  const a = await startDaemon(t, two, 'a', { [CRASH_AT]: 'after-create-local-image' });
  await writeImage(two, 'local', IMAGE, 'exclusive-lock,journaling');
  await killedByHook(t, a, 'after-create-local-image');
  await unrecordedReplica(t, two, IMAGE);

  const b = await startDaemon(t, two, 'b');
  const first = await converged(two, IMAGE);
  await replaying(two, IMAGE);
  t.match(b.log(), /removing image-pool\/image-1 \(id [0-9a-f]+\), this daemon's replica left without a mirror record/, 'the half-made replica was removed');
  await ok(two.rbdm('local', ['bench', `${POOL}/${IMAGE}`, '--io-type', 'write', '--io-size', '4K', '--io-total', '1M', '--io-pattern', 'rand']), 'bench 2');
  const second = await converged(two, IMAGE);
  t.not(second, first, 'the second bench changed the image');
  t.pass('replica identical after the restart, and replay goes on');
  b.child.kill('SIGTERM');
  t.equal(await b.exited, 0, 'daemon b exits cleanly');

  // (2) killed in a resync, between DISABLE_MIRRORING and REMOVE_IMAGE.
  const c = await startDaemon(t, two, 'c', { [CRASH_AT]: 'resync-after-disable' });
  await replaying(two, IMAGE);
  const before = JSON.parse((await two.rbdm('remote', ['info', `${POOL}/${IMAGE}`, '--format', 'json'])).stdout) as { id: string };
  await ok(two.rbdm('remote', ['mirror', 'image', 'resync', `${POOL}/${IMAGE}`]), 'resync');
  await killedByHook(t, c, 'resync-after-disable');
  await unrecordedReplica(t, two, IMAGE);

  const d = await startDaemon(t, two, 'd');
  await converged(two, IMAGE);
  await replaying(two, IMAGE);
  const after = JSON.parse((await two.rbdm('remote', ['info', `${POOL}/${IMAGE}`, '--format', 'json'])).stdout) as { id: string; mirroring: { primary: boolean } };
  t.not(after.id, before.id, 'the replica was made again (new id)');
  t.equal(after.mirroring.primary, false, 'non-primary');
  t.match(d.log(), /this daemon's replica left without a mirror record/, 'the resync\'s leftover was removed');
  await ok(two.rbdm('local', ['bench', `${POOL}/${IMAGE}`, '--io-type', 'write', '--io-size', '4K', '--io-total', '1M', '--io-pattern', 'seq']), 'bench 3');
  await converged(two, IMAGE);
  t.pass('replica identical after the resumed resync, and replay goes on');
  d.child.kill('SIGTERM');
  t.equal(await d.exited, 0, 'daemon d exits cleanly');
});

t.test('an operator\'s image under the primary\'s name is never touched', async (t) => {
  const two = await mirrored(t);
  const IMAGE = 'taken';
  // Not journaled: in pool mode it has no mirror record (a plain image of the operator's).
  await writeImage(two, 'remote', IMAGE, 'exclusive-lock', '1M');
  const theirs = await md5(two, 'remote', IMAGE);
  const info = (await two.rbdm('remote', ['info', `${POOL}/${IMAGE}`, '--format', 'json'])).stdout;
  await writeImage(two, 'local', IMAGE, 'exclusive-lock,journaling');
  // A second image shows the daemon replays meanwhile.
  await writeImage(two, 'local', 'other', 'exclusive-lock,journaling');

  const a = await startDaemon(t, two, 'a');
  await converged(two, 'other');
  const peerStatus = async () => {
    const r = await two.rbdm('local', ['mirror', 'image', 'status', `${POOL}/${IMAGE}`, '--format', 'json']);
    if (r.code !== 0) return undefined;
    return (JSON.parse(r.stdout) as { peer_sites?: { state: string; description: string }[] }).peer_sites?.[0];
  };
  await waitFor('error status of the taken name', async () => (await peerStatus())?.state === 'up+error', 60_000);
  t.equal((await peerStatus())?.description, 'local image name is in use by a non-mirrored image', 'the reason, as the peer site\'s status');
  t.match(a.log(), /local image name is in use by a non-mirrored image: image-pool\/taken \(id [0-9a-f]+\) is not a replica of this daemon's, left untouched/, 'logged');
  // Retried on the error timer: still untouched after a retry.
  await waitFor('a retry', async () => (a.log().match(/is not a replica of this daemon's/g) ?? []).length >= 2, 60_000);
  t.equal(await md5(two, 'remote', IMAGE), theirs, 'the operator\'s data is unchanged (md5)');
  t.equal((await two.rbdm('remote', ['info', `${POOL}/${IMAGE}`, '--format', 'json'])).stdout, info, 'its header is unchanged (id, features, no mirroring)');
  const st = await two.rbdm('remote', ['mirror', 'image', 'status', `${POOL}/${IMAGE}`]);
  t.not(st.code, 0, 'no mirror record was made for it');
  a.child.kill('SIGTERM');
  t.equal(await a.exited, 0, 'daemon exits cleanly');
});
