// Pool-level behaviour beyond the reference procedure: switching a pool to pool mode mirrors
// its journaled images, concurrent enables agree on one global id, `rm` of a primary drops
// its record (notified), and a demote interrupted after its tag is completed by the next one.
import t from 'tap';
import type { ImageUpdatedEvent } from '../../../modules/image-state/api.js';
import { LOCAL_POOL, inProcess, journalEventTypes, replayTag, tagOwners, twoClusters } from './support.js';

t.setTimeout(300_000);

t.test('pool-level transitions and races', async (t) => {
  const two = await twoClusters(t, [LOCAL_POOL]);
  const local = await inProcess(t, two, 'local');
  const rbdm = (args: string[]) => two.rbdm('local', args);
  const list = () => local.state.listMirroredImages(local.cluster, LOCAL_POOL);

  t.equal((await rbdm(['mirror', 'pool', 'enable', LOCAL_POOL, 'image'])).code, 0);
  for (const n of ['j1', 'j2']) t.equal((await rbdm(['create', `${LOCAL_POOL}/${n}`, '--size', '8M', '--image-feature', 'exclusive-lock,journaling'])).code, 0);
  t.equal((await rbdm(['create', `${LOCAL_POOL}/plain`, '--size', '8M', '--image-feature', 'exclusive-lock'])).code, 0);
  t.same(await list(), [], 'image mode: nothing mirrored by itself');

  // Concurrent enables of one image: one record, one global id.
  const rs = await Promise.all([1, 2, 3].map(() => rbdm(['mirror', 'image', 'enable', `${LOCAL_POOL}/j1`])));
  t.same(rs.map((r) => r.code), [0, 0, 0], 'all three succeed');
  t.equal((await list()).length, 1, 'one record');

  // image → pool: the other journaled image is mirrored too, the plain one not.
  const sw = await rbdm(['mirror', 'pool', 'enable', LOCAL_POOL, 'pool']);
  t.equal(sw.code, 0);
  const recs = await list();
  t.equal(recs.length, 2, 'j1 kept, j2 added');
  t.ok(recs.every((r) => r.primary && r.state === 'enabled'));
  t.match((await rbdm(['info', `${LOCAL_POOL}/plain`])).stdout, /modify_timestamp: .+\n$/, 'plain: no mirroring lines (093)');

  // rm of a primary mirrored image drops its record and tells watchers.
  const events: ImageUpdatedEvent[] = [];
  const w = await local.state.watch(local.cluster, LOCAL_POOL, (e) => events.push(e));
  t.teardown(() => w.close());
  const j2Info = JSON.parse((await rbdm(['info', `${LOCAL_POOL}/j2`, '--format', 'json'])).stdout) as { id: string };
  t.equal((await rbdm(['rm', `${LOCAL_POOL}/j2`])).code, 0, 'rm of a primary');
  for (let i = 0; i < 100 && !events.some((e) => e.image_id === j2Info.id && e.state === 'disabled'); i++) await new Promise((r) => setTimeout(r, 20));
  t.ok(events.some((e) => e.image_id === j2Info.id && e.state === 'disabled'), 'removal notified');
  t.equal(await local.state.getByImageId(local.cluster, LOCAL_POOL, j2Info.id), undefined);

  // A demote whose tag was written but whose flag was not (a crash in between).
  const j1 = (await list())[0]!;
  await replayTag(local, LOCAL_POOL, j1.imageId, '<orphan>');
  const typesBefore = await journalEventTypes(local, LOCAL_POOL, j1.imageId);
  const d = await rbdm(['mirror', 'image', 'demote', `${LOCAL_POOL}/j1`]);
  t.equal(d.stdout, 'Image demoted to non-primary\n');
  t.same(await journalEventTypes(local, LOCAL_POOL, j1.imageId), typesBefore, 'no second demote event');
  t.same((await tagOwners(local, LOCAL_POOL, j1.imageId)).slice(-1), ['<orphan>']);
  t.match(await local.state.getByImageId(local.cluster, LOCAL_POOL, j1.imageId), { primary: false }, 'flag completed');

  // Pool disable in pool mode is refused while a non-primary image remains (librbd's disable).
  const pd = await rbdm(['mirror', 'pool', 'disable', LOCAL_POOL]);
  t.equal(pd.code, 22);
  t.match(pd.stderr, /mirrored image is not primary/);
  t.equal((await list()).length, 1, 'nothing disabled');
  t.equal((await rbdm(['mirror', 'image', 'promote', `${LOCAL_POOL}/j1`])).code, 0, 'own demotion: promote at once');
  t.equal((await rbdm(['mirror', 'pool', 'disable', LOCAL_POOL])).code, 0);
  t.same(await list(), []);
  t.match((await rbdm(['info', `${LOCAL_POOL}/j1`])).stdout, /\tfeatures: exclusive-lock\n/, 'journaling removed with mirroring (277)');
});
