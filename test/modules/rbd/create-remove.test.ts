// Creating, listing, opening and removing images: the format-2 objects, conf defaults,
// data pools, and every refusal leaving the pool as it was.
import t from 'tap';
import type { Cluster } from '../../../host/index.js';
import { embeddedCluster, library, objectsOf } from './embedded-cluster.js';

const M = 1 << 20;

async function omap(cluster: Cluster, pool: string, oid: string): Promise<Record<string, string>> {
  const io = await cluster.ioctx(pool);
  try {
    const page = await io.omapGetVals(oid);
    return Object.fromEntries([...page.entries].map(([k, v]) => [k, v.toString()]));
  } finally {
    await io.close();
  }
}

async function readObject(cluster: Cluster, pool: string, oid: string): Promise<string> {
  const io = await cluster.ioctx(pool);
  try {
    return (await io.read(oid)).toString();
  } finally {
    await io.close();
  }
}

t.test('create writes rbd_id, rbd_directory and rbd_header as format 2', async (t) => {
  const c = await embeddedCluster(t);
  const lib = library();
  const before = Date.now();
  const info = await lib.createImage(c.cluster, 'rbd', 'image-1', { size: 1024 * M, features: 4 | 64 });
  t.same(await objectsOf(c.cluster, 'rbd'), ['rbd_directory', `rbd_header.${info.id}`, 'rbd_id.image-1'], 'a thin image has no data objects');
  t.equal(await readObject(c.cluster, 'rbd', 'rbd_id.image-1'), info.id);
  t.same(await omap(c.cluster, 'rbd', 'rbd_directory'), { [`id_${info.id}`]: 'image-1', 'name_image-1': info.id });
  const h = await omap(c.cluster, 'rbd', `rbd_header.${info.id}`);
  t.same({ size: h.size, order: h.order, features: h.features, object_prefix: h.object_prefix, flags: h.flags, op_features: h.op_features },
    { size: String(1024 * M), order: '22', features: '68', object_prefix: `rbd_data.${info.id}`, flags: '0', op_features: '0' });
  t.ok(Number(h.create_timestamp) >= before && h.create_timestamp === h.modify_timestamp && h.create_timestamp === h.access_timestamp);
  t.match(info, { name: 'image-1', pool: 'rbd', size: 1024 * M, order: 22, objectSize: 4 * M, numObjects: 256, features: 68 });
  t.notOk('dataPool' in info);
});

t.test('defaults come from the conf: rbd default features, order, data pool', async (t) => {
  const c = await embeddedCluster(t, ['rbd', 'data-pool']);
  t.equal((await library().createImage(c.cluster, 'rbd', 'a', { size: M })).features, 61, 'built-in default 61');
  t.equal((await library({ rbd_default_features: '125' }).createImage(c.cluster, 'rbd', 'b', { size: M })).features, 125);
  t.equal((await library({ rbd_default_features: 'layering,exclusive-lock' }).createImage(c.cluster, 'rbd', 'c', { size: M })).features, 5);
  t.equal((await library({ rbd_default_order: '20' }).createImage(c.cluster, 'rbd', 'd', { size: M })).objectSize, M);
  const dp = await library({ rbd_default_data_pool: 'data-pool' }).createImage(c.cluster, 'rbd', 'e', { size: 16 * M, features: 4 | 64 });
  t.equal(dp.dataPool, 'data-pool', 'rbd 190: the conf data pool is used');
  t.equal(dp.features, 4 | 64 | 128, 'and data-pool is among the features');
  const same = await library({ rbd_default_data_pool: 'rbd' }).createImage(c.cluster, 'rbd', 'f', { size: M, features: 1 });
  t.equal(same.dataPool, undefined, 'a data pool equal to the image pool is none');
  await t.rejects(library({ rbd_default_features: 'bogus' }).createImage(c.cluster, 'rbd', 'g', { size: M }), { code: 'ERR_FEATURE', errno: 'EINVAL' });
});

t.test('a data pool holds the data objects, named with the image pool id (rbd 185/188)', async (t) => {
  const c = await embeddedCluster(t, ['image-pool', 'data-pool']);
  const lib = library();
  const poolId = (await c.cluster.lookupPool('image-pool')).id;
  const info = await lib.createImage(c.cluster, 'image-pool', 'image-dp', { size: 128 * M, dataPool: 'data-pool', features: 4 | 64 });
  t.equal(info.blockNamePrefix, `rbd_data.${poolId}.${info.id}`);
  t.equal(info.dataPool, 'data-pool');
  t.equal(info.dataPoolId, (await c.cluster.lookupPool('data-pool')).id);
  const img = c.track(await lib.openImage(c.cluster, 'image-pool', 'image-dp'));
  t.equal(img.info.dataPool, 'data-pool', 'open resolves the data pool by id');
  await img.write(4 * M - 1, Buffer.from('xy'));
  t.same(await objectsOf(c.cluster, 'data-pool'), [`${info.blockNamePrefix}.0000000000000000`, `${info.blockNamePrefix}.0000000000000001`]);
  t.same(await objectsOf(c.cluster, 'image-pool'), ['rbd_directory', `rbd_header.${info.id}`, 'rbd_id.image-dp']);
  t.same(await img.read(4 * M - 1, 2), Buffer.from('xy'));
  await img.close();
  await lib.removeImage(c.cluster, 'image-pool', 'image-dp');
  t.same(await objectsOf(c.cluster, 'data-pool'), [], 'rm removes the data pool objects');
});

t.test('create refusals change nothing', async (t) => {
  const c = await embeddedCluster(t);
  const lib = library();
  const first = await lib.createImage(c.cluster, 'rbd', 'taken', { size: M, features: 1 });
  const state = async () => ({ objects: await objectsOf(c.cluster, 'rbd'), dir: await omap(c.cluster, 'rbd', 'rbd_directory') });
  const before = await state();
  type Want = ({ code: string } | { message: string | RegExp }) & Record<string, unknown>;
  const cases: Array<[string, () => Promise<unknown>, Want]> = [
    ['exists', () => lib.createImage(c.cluster, 'rbd', 'taken', { size: 2 * M }),
      { code: 'ERR_IMAGE_EXISTS', errno: 'EEXIST', message: 'rbd image taken already exists; create error: (17) File exists' }],
    ['bad name', () => lib.createImage(c.cluster, 'rbd', 'a/b', { size: M }), { code: 'ERR_INVALID_ARGUMENT' }],
    ['empty name', () => lib.createImage(c.cluster, 'rbd', '', { size: M }), { code: 'ERR_INVALID_ARGUMENT' }],
    ['negative size', () => lib.createImage(c.cluster, 'rbd', 'x', { size: -1 }), { code: 'ERR_INVALID_ARGUMENT', errno: 'EINVAL' }],
    ['order too small', () => lib.createImage(c.cluster, 'rbd', 'x', { size: M, order: 11 }),
      { message: /order must be in the range \[12, 25\]/ }],
    ['object size not a power of two', () => lib.createImage(c.cluster, 'rbd', 'x', { size: M, objectSize: 3000 }),
      { message: /object size 3000 is not a power of two/ }],
    ['object size too large', () => lib.createImage(c.cluster, 'rbd', 'x', { size: M, objectSize: 64 * M }), { code: 'ERR_INVALID_ARGUMENT' }],
    ['journaling without exclusive-lock', () => lib.createImage(c.cluster, 'rbd', 'x', { size: M, features: 64 }),
      { code: 'ERR_FEATURE', message: 'cannot use journaling without exclusive lock; create error: (22) Invalid argument' }],
    ['missing data pool', () => lib.createImage(c.cluster, 'rbd', 'x', { size: M, dataPool: 'nope' }),
      { code: 'ERR_POOL_NOT_FOUND', message: 'data pool nope does not exist; create error: (2) No such file or directory' }],
    ['missing pool', () => lib.createImage(c.cluster, 'nopool', 'x', { size: M }),
      { code: 'ERR_POOL_NOT_FOUND', message: "error opening pool 'nopool': (2) No such file or directory" }],
  ];
  for (const [what, fn, expected] of cases) await t.rejects(fn(), expected, what);
  t.same(await state(), before, 'no object and no directory entry appeared or changed');
  t.equal((await lib.listImages(c.cluster, 'rbd'))[0]?.id, first.id);
});

t.test('two clients creating the same name: exactly one wins', async (t) => {
  const c = await embeddedCluster(t);
  const c2 = await c.connect();
  const results = await Promise.allSettled([
    library().createImage(c.cluster, 'rbd', 'race', { size: M }),
    library().createImage(c2, 'rbd', 'race', { size: 2 * M }),
  ]);
  t.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
  t.match(results.find((r) => r.status === 'rejected'), { reason: { code: 'ERR_IMAGE_EXISTS' } });
  const headers = (await objectsOf(c.cluster, 'rbd')).filter((o) => o.startsWith('rbd_header.'));
  t.equal(headers.length, 1, 'the loser left no header behind');
});

t.test('list is sorted by name; open by name or id; missing names are ENOENT', async (t) => {
  const c = await embeddedCluster(t);
  const lib = library();
  t.same(await lib.listImages(c.cluster, 'rbd'), [], 'a pool without images');
  const b = await lib.createImage(c.cluster, 'rbd', 'b', { size: M });
  const a = await lib.createImage(c.cluster, 'rbd', 'a', { size: M });
  t.same(await lib.listImages(c.cluster, 'rbd'), [{ name: 'a', id: a.id }, { name: 'b', id: b.id }]);
  const byId = c.track(await lib.openImageById(c.cluster, 'rbd', b.id, { readOnly: true }));
  t.equal(byId.name, 'b');
  await t.rejects(lib.openImage(c.cluster, 'rbd', 'no-such-image'),
    { code: 'ERR_IMAGE_NOT_FOUND', errno: 'ENOENT', message: 'error opening image no-such-image: (2) No such file or directory' });
  await t.rejects(lib.openImageById(c.cluster, 'rbd', '000000000000'), { code: 'ERR_IMAGE_NOT_FOUND' });
  await t.rejects(lib.listImages(c.cluster, 'nopool'), { message: "error opening pool 'nopool': (2) No such file or directory" });
});

t.test('remove: EBUSY while a client has the image open, then everything goes', async (t) => {
  const c = await embeddedCluster(t);
  const lib = library();
  const info = await lib.createImage(c.cluster, 'rbd', 'img', { size: 16 * M, features: 1 | 4 });
  const c2 = await c.connect();
  const img = await lib.openImage(c2, 'rbd', 'img');
  await img.write(0, Buffer.alloc(9 * M, 1));
  const before = await objectsOf(c.cluster, 'rbd');
  await t.rejects(lib.removeImage(c.cluster, 'rbd', 'img'), {
    code: 'ERR_IMAGE_BUSY', errno: 'EBUSY', message: /^error: image still has watchers\..*delete error: \(16\) Device or resource busy$/,
  });
  t.same(await objectsOf(c.cluster, 'rbd'), before, 'refused removal removed nothing');
  const ro = await lib.openImage(c.cluster, 'rbd', 'img', { readOnly: true });
  await img.close();
  const progress: Array<[number, number]> = [];
  await lib.removeImage(c.cluster, 'rbd', 'img', { onProgress: (d, n) => progress.push([d, n]) });
  await ro.close();
  t.same(await objectsOf(c.cluster, 'rbd'), ['rbd_directory'], 'header, id, data objects all gone');
  t.same(await omap(c.cluster, 'rbd', 'rbd_directory'), {}, 'directory entries gone');
  t.same(progress.map(([, n]) => n), [3, 3, 3], 'progress per data object');
  t.same(await lib.listImages(c.cluster, 'rbd'), []);
  await t.rejects(lib.removeImage(c.cluster, 'rbd', 'img'), { code: 'ERR_IMAGE_NOT_FOUND' });
  void info;
});

t.test('remove cleans up an image whose creation stopped half-way', async (t) => {
  const c = await embeddedCluster(t);
  const io = c.track(await c.cluster.ioctx('rbd'));
  // A creator killed after claiming the name and before writing the header.
  await io.writeFull('rbd_id.half', Buffer.from('0123456789ab'));
  await t.rejects(library().openImage(c.cluster, 'rbd', 'half'), { code: 'ERR_IMAGE_NOT_FOUND' });
  await t.rejects(library().createImage(c.cluster, 'rbd', 'half', { size: M }), { code: 'ERR_IMAGE_EXISTS' });
  await library().removeImage(c.cluster, 'rbd', 'half');
  t.same(await objectsOf(c.cluster, 'rbd'), []);
  await library().createImage(c.cluster, 'rbd', 'half', { size: M });
  t.same((await library().listImages(c.cluster, 'rbd')).map((i) => i.name), ['half'], 'the name is usable again');
});

t.test('create with a chosen id (the mirror daemon records it first); bad or taken ids refused, nothing left', async (t) => {
  const c = await embeddedCluster(t);
  const lib = library();
  const info = await lib.createImage(c.cluster, 'rbd', 'chosen', { size: M, id: '0123456789ab' });
  t.equal(info.id, '0123456789ab', 'the id given');
  t.equal(await readObject(c.cluster, 'rbd', 'rbd_id.chosen'), '0123456789ab');
  const before = await objectsOf(c.cluster, 'rbd');
  for (const id of ['xyz', '0123456789AB', '0123456789abc', '']) {
    await t.rejects(lib.createImage(c.cluster, 'rbd', 'bad-id', { size: M, id }), { errno: 'EINVAL', message: /invalid image id/ }, `id '${id}'`);
  }
  await t.rejects(lib.createImage(c.cluster, 'rbd', 'same-id', { size: M, id: '0123456789ab' }), { errno: 'EEXIST', message: /./ }, 'an id in use');
  t.same(await objectsOf(c.cluster, 'rbd'), before, 'nothing left by the refusals');
  t.same(await omap(c.cluster, 'rbd', 'rbd_directory'), { id_0123456789ab: 'chosen', name_chosen: '0123456789ab' }, 'directory unchanged');
});
