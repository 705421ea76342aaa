// The reference procedure's image mirroring commands (041–206, 277) through the real CLI on
// two embedded clusters, compared with rbd 16.2's captures: stdout exactly (ids, uuids and
// times masked), exit codes, and for refusals librbd's reason in the message. Replicas on
// `remote` are made as the replay daemon would (support.ts), since no daemon runs here.
import t from 'tap';
import { boundDeps } from '../../../modules/image-state/runtime.js';
import { rawState } from '../pool-config/support.js';
import {
  IMAGE_POOL2, LOCAL_POOL, inProcess, journalEventTypes, makeReplica, mask, phraseOf, reference, replayTag, tagOwners, twoClusters,
} from './support.js';

t.setTimeout(600_000);

t.test('the reference procedure, command by command', async (t) => {
  const two = await twoClusters(t, [LOCAL_POOL, IMAGE_POOL2]);
  const local = await inProcess(t, two, 'local');
  const remote = await inProcess(t, two, 'remote');

  /** Runs capture n's command (as rbdm) and compares exit code and stdout. */
  const same = async (n: number, extra: { stderr?: string } = {}) => {
    const ref = reference(n);
    const r = await two.replay(ref.args);
    t.equal(r.code, ref.code, `${n}: exit code (${r.stderr.trim()})`);
    t.equal(mask(r.stdout), mask(ref.stdout), `${n}: stdout`);
    if (extra.stderr !== undefined) t.match(r.stderr, phraseOf(n, extra.stderr), `${n}: the reason`);
    return r;
  };
  const rawLocal1 = await rawState(t, two, 'local', LOCAL_POOL);
  const rawRemote1 = await rawState(t, two, 'remote', LOCAL_POOL);
  const unchanged = async (n: number, run: () => Promise<unknown>, raw = rawLocal1) => {
    const before = await raw();
    await run();
    t.equal(await raw(), before, `${n}: the rbd_mirroring object is untouched`);
  };

  for (const n of [17, 18]) t.equal((await two.replay(reference(n).args)).code, 0, `${n}: pool mode`);
  for (const cl of ['local', 'remote'] as const) t.equal((await two.rbdm(cl, ['mirror', 'pool', 'enable', IMAGE_POOL2, 'image'])).code, 0);
  const localMirrorUuid = async (pool: string) => (await boundDeps().mirroring.getPoolMirroring(local.cluster, pool)).mirror_uuid;

  // Pool mode: a journaled image is mirrored, primary, from its creation.
  await same(41);
  await same(42);
  const img1 = (await local.state.listMirroredImages(local.cluster, LOCAL_POOL))[0]!;
  t.match(img1, { state: 'enabled', mode: 'journal', primary: true, resyncRequested: false });
  t.match((await two.rbdm('local', ['info', `${LOCAL_POOL}/image-1`])).stdout, `mirroring global id: ${img1.globalId}\n`);
  const json = JSON.parse((await two.rbdm('local', ['info', `${LOCAL_POOL}/image-1`, '--format', 'json'])).stdout) as Record<string, unknown>;
  t.same(json.mirroring, { mode: 'journal', state: 'enabled', global_id: img1.globalId, primary: true });

  // The replica on remote, as the daemon makes it.
  const rImg1 = await makeReplica(remote, LOCAL_POOL, 'image-1', img1.globalId, await localMirrorUuid(LOCAL_POOL));
  t.match(await remote.state.getByGlobalId(remote.cluster, LOCAL_POOL, img1.globalId), { imageId: rImg1, primary: false, state: 'enabled' });

  // Refusals: exit code, reason, nothing changed.
  await unchanged(77, () => same(77, { stderr: 'image is already primary' }));
  await unchanged(78, () => same(78, { stderr: 'image is not primary' }), rawRemote1);
  await unchanged(79, () => same(79, { stderr: 'image is primary, cannot resync to itself' }));
  await unchanged(80, () => same(80, { stderr: 'Read-only file system' }), rawRemote1);
  await unchanged(81, () => same(81, { stderr: 'pool is not in image mirror mode' }));
  await unchanged(82, () => same(82, { stderr: 'cannot disable mirroring in the current pool mirroring mode' }));
  await unchanged(85, () => same(85, { stderr: 'invalid mode name: bogus' }));
  const snap = await two.rbdm('local', ['mirror', 'image', 'enable', `${IMAGE_POOL2}/none`, 'snapshot']);
  t.equal(snap.code, 22, 'snapshot mode: EINVAL');
  t.match(snap.stderr, /only journal mode/);

  // Pool mode follows the journaling feature, both ways.
  for (const n of [86, 87, 88]) await same(n);
  await same(89);
  const img2 = (await local.state.listMirroredImages(local.cluster, LOCAL_POOL)).find((r) => r.imageId !== img1.imageId)!;
  t.match(img2, { state: 'enabled', primary: true }, '089: journaling enabled later → mirrored');
  const r92 = await same(92);
  t.match(r92.stderr, /warning: journaling disabled on image-pool\/image-2: mirroring of this image is now disabled/, '092: rbd is silent, rbdm warns');
  await same(93);
  t.equal(await local.state.getByImageId(local.cluster, LOCAL_POOL, img2.imageId), undefined, '093: no record');
  await same(95);
  const img2b = (await local.state.listMirroredImages(local.cluster, LOCAL_POOL)).find((r) => r.imageId === img2.imageId)!;
  t.not(img2b.globalId, img2.globalId, 're-enabled with a new global id, as rbd');
  const rImg2 = await makeReplica(remote, LOCAL_POOL, 'image-2', img2b.globalId, await localMirrorUuid(LOCAL_POOL));

  // Image mode (image-pool2).
  await same(111);
  await same(113); // enable turns journaling on itself
  await same(114);
  await same(115);
  await same(116, { stderr: 'already disabled' });
  await same(117);
  await same(118);
  await same(120);
  await same(121);
  await same(130);
  await same(134);
  const img3 = (await local.state.listMirroredImages(local.cluster, IMAGE_POOL2))[0]!;
  const jOff = await two.rbdm('local', ['feature', 'disable', `${IMAGE_POOL2}/image-3`, 'journaling']);
  t.equal(jOff.code, 22, 'journaling cannot go while mirrored in image mode');
  t.match(jOff.stderr, /cannot disable journaling: image mirroring enabled and mirror pool mode set to image/);

  // Failover: demote, the peer's promote waits for the demotion to be replayed.
  const rImg3 = await makeReplica(remote, IMAGE_POOL2, 'image-3', img3.globalId, await localMirrorUuid(IMAGE_POOL2), 256 * 1024 * 1024);
  await same(137);
  t.same((await tagOwners(local, IMAGE_POOL2, img3.imageId)).slice(-1), ['<orphan>'], '137: demote ends in an <orphan> tag');
  t.same((await journalEventTypes(local, IMAGE_POOL2, img3.imageId)).filter((e) => e === 'demote'), ['demote'], '137: demote event');
  const rawRemote2 = await rawState(t, two, 'remote', IMAGE_POOL2);
  await unchanged(140, () => same(140, { stderr: 'demotion is not propagated yet' }), rawRemote2);
  await replayTag(remote, IMAGE_POOL2, rImg3, '<orphan>'); // the daemon replayed the demotion
  const r141 = await two.rbdm('remote', ['mirror', 'image', 'promote', `${IMAGE_POOL2}/image-3`]);
  t.equal(r141.stdout, 'Image promoted to primary\n', '141');
  t.same((await tagOwners(remote, IMAGE_POOL2, rImg3)).slice(-1), [''], '141: promote ends in a local tag');
  t.ok((await journalEventTypes(remote, IMAGE_POOL2, rImg3)).includes('promote'), '141: promote event');
  await same(142);
  t.equal((await two.rbdm('remote', ['bench', '--io-type', 'write', '--io-size', '4K', '--io-total', '4K', `${IMAGE_POOL2}/image-3`])).code, 0, 'the promoted replica takes writes');

  // Failback, then a forced promote (split-brain) and resync.
  await same(149);
  const r150 = await two.rbdm('local', ['mirror', 'image', 'promote', `${IMAGE_POOL2}/image-3`]);
  t.equal(r150.stdout, 'Image promoted to primary\n', '150: the local demote is recorded locally');
  await replayTag(remote, IMAGE_POOL2, rImg3, await localMirrorUuid(IMAGE_POOL2)); // remote replays local again
  t.equal((await two.rbdm('remote', ['mirror', 'image', 'promote', `${IMAGE_POOL2}/image-3`])).code, 16, 'not demoted by the peer: EBUSY');
  await same(152);
  t.match(await remote.state.getByImageId(remote.cluster, IMAGE_POOL2, rImg3), { primary: true });
  t.match(await local.state.getByImageId(local.cluster, IMAGE_POOL2, img3.imageId), { primary: true }, 'both primary: split-brain');
  await same(157);
  await same(163);
  t.match(await local.state.getByImageId(local.cluster, IMAGE_POOL2, img3.imageId), { primary: false, resyncRequested: true }, '163: flagged');
  await local.state.setResyncRequested(local.cluster, IMAGE_POOL2, img3.imageId, false); // the daemon resynced
  await same(167);
  const r168 = await two.rbdm('local', ['mirror', 'image', 'promote', `${IMAGE_POOL2}/image-3`]);
  t.equal(r168.code, 0, '168');

  // Pool demote/promote (image-pool: image-1 and image-2 primary on local).
  await same(171);
  await same(173);
  const r172 = await same(172);
  t.match(r172.stderr, /failed to promote image image-1: \(16\) Device or resource busy/);
  t.match(r172.stderr, /failed to promote image image-2: \(16\) Device or resource busy/);
  for (const id of [rImg1, rImg2]) await replayTag(remote, LOCAL_POOL, id, '<orphan>');
  const r174 = await two.rbdm('remote', ['mirror', 'pool', 'promote', LOCAL_POOL]);
  t.equal(r174.stdout, 'Promoted 2 mirrored images\n', '174');
  await same(178);
  const r179 = await two.rbdm('local', ['mirror', 'pool', 'promote', LOCAL_POOL]);
  t.equal(r179.stdout, 'Promoted 2 mirrored images\n', '179: the local demotions are recorded locally');
  await same(180);
  t.equal((await two.rbdm('local', ['mirror', 'pool', 'demote', 'nonmirrored-pool'])).code, 2, 'unknown pool: ENOENT');
  t.equal((await two.rbdm('local', ['pool', 'create', 'plain'])).code, 0);
  const r14 = await two.rbdm('local', ['mirror', 'pool', 'demote', 'plain']);
  t.equal(r14.code, reference(14).code, '014: exit code');
  t.match(r14.stderr, phraseOf(14, 'mirroring not enabled on the pool'));

  // Pool disable: image mode refuses while images are enabled; pool mode disables them.
  const rawPool2 = await rawState(t, two, 'local', IMAGE_POOL2);
  await unchanged(198, async () => {
    const r = await two.rbdm('local', ['mirror', 'pool', 'disable', IMAGE_POOL2]);
    t.equal(r.code, 22, 'image mode with enabled images: EINVAL (librbd mode_set)');
    t.match(r.stderr, /failed to disable mirror mode: there are still images with mirroring enabled/);
  }, rawPool2);
  await same(199);
  t.equal((await two.rbdm('local', ['mirror', 'pool', 'disable', IMAGE_POOL2])).code, 0, 'then the pool disables');
  await same(204);
  await same(274);
  t.same(await local.state.listMirroredImages(local.cluster, LOCAL_POOL), [], '274: no records left');
  await same(277);
});
