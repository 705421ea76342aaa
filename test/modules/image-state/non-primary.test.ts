// A non-primary image refuses every client change with EROFS and stays exactly as it was
// (header, journal, mirroring record); replay handles still apply; `disable --force` lets a
// replica go. Then the service as the replay daemon uses it, and its notifications.
import t from 'tap';
import type { ImageUpdatedEvent } from '../../../modules/image-state/api.js';
import { boundDeps } from '../../../modules/image-state/runtime.js';
import { rawState } from '../pool-config/support.js';
import { LOCAL_POOL, inProcess, makeReplica, tagOwners, twoClusters } from './support.js';

t.setTimeout(300_000);

t.test('every kind of change to a non-primary image is refused with EROFS, nothing changed', async (t) => {
  const two = await twoClusters(t, [LOCAL_POOL]);
  const remote = await inProcess(t, two, 'remote');
  t.equal((await two.rbdm('remote', ['mirror', 'pool', 'enable', LOCAL_POOL, 'pool'])).code, 0);
  const id = await makeReplica(remote, LOCAL_POOL, 'replica', '11111111-2222-3333-4444-555555555555', '99999999-2222-3333-4444-555555555555');
  const spec = `${LOCAL_POOL}/replica`;
  const raw = await rawState(t, two, 'remote', LOCAL_POOL);
  const look = async () => JSON.stringify([
    await raw(),
    (await two.rbdm('remote', ['info', spec, '--format', 'json'])).stdout,
    (await two.rbdm('remote', ['journal', 'status', spec, '--format', 'json'])).stdout,
    await tagOwners(remote, LOCAL_POOL, id),
  ]);
  const before = await look();
  const attempts: Array<[string, string[]]> = [
    ['write (bench)', ['bench', '--io-type', 'write', '--io-size', '4K', '--io-total', '4K', spec]],
    ['resize', ['resize', spec, '--size', '128M']],
    ['shrink', ['resize', spec, '--size', '32M', '--allow-shrink']],
    ['feature enable', ['feature', 'enable', spec, 'object-map']],
    ['feature disable', ['feature', 'disable', spec, 'journaling']],
    ['rm', ['rm', spec]],
    ['import over it', ['import', '/dev/null', spec]],
  ];
  for (const [what, args] of attempts) {
    const r = await two.rbdm('remote', args);
    if (what === 'import over it') {
      t.not(r.code, 0, `${what}: refused (the name exists)`);
      continue;
    }
    t.equal(r.code, 30, `${what}: EROFS (${r.stderr.trim()})`);
    t.match(r.stderr, `image ${spec} is a non-primary mirrored image`, `${what}: names the image as non-primary`);
  }
  t.equal(await look(), before, 'header, journal, tags and record unchanged');
  t.equal((await two.rbdm('remote', ['bench', '--io-type', 'read', '--io-size', '4K', '--io-total', '4K', spec])).code, 0, 'reads still work');

  // The replay daemon's handle passes the guard.
  const img = await boundDeps().images.openImageById(remote.cluster, LOCAL_POOL, id, { purpose: 'replay' });
  try {
    await img.write(0, Buffer.alloc(4096, 7));
  } finally {
    await img.close();
  }
  t.pass('a replay handle writes');

  // The journals service's primary policy agrees: a client handle cannot take the lock.
  const client = await boundDeps().images.openImageById(remote.cluster, LOCAL_POOL, id);
  await t.rejects(client.flush(), { message: /non-primary mirrored image/ }, 'client flush: EROFS');
  await client.close();

  // disable on a non-primary image needs --force (librbd's wording), then rm works.
  const r1 = await two.rbdm('remote', ['mirror', 'pool', 'enable', LOCAL_POOL, 'image']);
  t.equal(r1.code, 0);
  const d1 = await two.rbdm('remote', ['mirror', 'image', 'disable', spec]);
  t.equal(d1.code, 22);
  t.match(d1.stderr, /mirrored image is not primary, add force option to disable mirroring/);
  const d2 = await two.rbdm('remote', ['mirror', 'image', 'disable', '--force', spec]);
  t.equal(d2.stdout, 'Mirroring disabled\n');
  t.equal(await remote.state.getByImageId(remote.cluster, LOCAL_POOL, id), undefined, 'record gone');
  t.equal((await two.rbdm('remote', ['rm', spec])).code, 0, 'rm of the former replica');
});

t.test('the state service and notifications', async (t) => {
  const two = await twoClusters(t, [LOCAL_POOL]);
  const local = await inProcess(t, two, 'local');
  t.equal((await two.rbdm('local', ['mirror', 'pool', 'enable', LOCAL_POOL, 'image'])).code, 0);
  const events: ImageUpdatedEvent[] = [];
  const w = await local.state.watch(local.cluster, LOCAL_POOL, (e) => events.push(e));
  t.teardown(() => w.close());
  const until = async (pred: (e: ImageUpdatedEvent) => boolean) => {
    for (let i = 0; i < 250 && !events.some(pred); i++) await new Promise((r) => setTimeout(r, 20));
    return events.find(pred);
  };

  t.equal((await two.rbdm('local', ['create', `${LOCAL_POOL}/a`, '--size', '8M', '--image-feature', 'exclusive-lock,journaling'])).code, 0);
  t.equal((await two.rbdm('local', ['mirror', 'image', 'enable', `${LOCAL_POOL}/a`, 'journal'])).stdout, 'Mirroring enabled\n');
  const rec = (await local.state.listMirroredImages(local.cluster, LOCAL_POOL))[0]!;
  t.match(await until((e) => e.state === 'enabled'), { event: 'image_updated', image_id: rec.imageId, global_id: rec.globalId, state: 'enabled' }, 'enable notified (another process)');
  t.same(await local.state.getByGlobalId(local.cluster, LOCAL_POOL, rec.globalId), rec, 'by global id');
  t.equal(await local.state.getByGlobalId(local.cluster, LOCAL_POOL, '00000000-0000-0000-0000-000000000000'), undefined);

  events.length = 0;
  t.equal((await two.rbdm('local', ['mirror', 'image', 'demote', `${LOCAL_POOL}/a`])).code, 0);
  t.ok(await until((e) => e.image_id === rec.imageId), 'demote notified');
  t.match(await local.state.getByImageId(local.cluster, LOCAL_POOL, rec.imageId), { primary: false });
  await local.state.setResyncRequested(local.cluster, LOCAL_POOL, rec.imageId, true);
  t.match(await local.state.getByImageId(local.cluster, LOCAL_POOL, rec.imageId), { resyncRequested: true });
  await local.state.setPrimary(local.cluster, LOCAL_POOL, rec.imageId, true);
  t.match(await local.state.getByImageId(local.cluster, LOCAL_POOL, rec.imageId), { primary: true, resyncRequested: false }, 'primary clears the resync flag');

  // createNonPrimary refuses a taken image or global id.
  await t.rejects(local.state.createNonPrimary(local.cluster, LOCAL_POOL, rec.imageId, rec.globalId), { message: /already has a mirroring record/ });
  t.equal((await two.rbdm('local', ['create', `${LOCAL_POOL}/b`, '--size', '8M', '--image-feature', 'exclusive-lock'])).code, 0);
  const bId = JSON.parse((await two.rbdm('local', ['info', `${LOCAL_POOL}/b`, '--format', 'json'])).stdout).id as string;
  await t.rejects(local.state.createNonPrimary(local.cluster, LOCAL_POOL, bId, rec.globalId), { message: /already belongs to image/ }, 'global id taken');

  // On-store format, next to pool-config's keys.
  const raw = JSON.parse(await (await rawState(t, two, 'local', LOCAL_POOL))()) as { entries: string[] };
  t.ok(raw.entries.includes(`global_${rec.globalId}=${rec.imageId}`), 'global_<gid> → image id');
  t.ok(raw.entries.includes(`image_${rec.imageId}={"global_id":"${rec.globalId}","state":"enabled","mode":"journal","primary":true,"resync_requested":false}`), 'image_<id> → JSON');
  t.ok(raw.entries.some((e) => e.startsWith('mirror_mode=image')), "pool-config's keys are kept");

  events.length = 0;
  await local.state.disable(local.cluster, LOCAL_POOL, rec.imageId);
  t.ok(await until((e) => e.state === 'disabled'), 'disable notified');
  t.same(await local.state.listMirroredImages(local.cluster, LOCAL_POOL), []);
  t.match((await two.rbdm('local', ['info', `${LOCAL_POOL}/a`])).stdout, /\tmirroring state: disabled\n$/, 'journaled, not mirrored: state disabled, as 118');
});
