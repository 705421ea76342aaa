// Image I/O on a real embedded cluster: striping over objects, thin reads, discard, resize.
import t from 'tap';
import type { Cluster } from '../../../host/index.js';
import { embeddedCluster, library, objectsOf } from './embedded-cluster.js';

const K = 1024;
const M = 1024 * K;
/** Small objects (64 KiB, order 16) keep multi-object cases cheap. */
const OBJ = 64 * K;

async function setup(t: { teardown(fn: () => unknown): void }, size = 1 * M) {
  const c = await embeddedCluster(t);
  const lib = library();
  const info = await lib.createImage(c.cluster, 'rbd', 'img', { size, objectSize: OBJ, features: 1 | 4 });
  const img = c.track(await lib.openImage(c.cluster, 'rbd', 'img'));
  const data = () => objectsOf(c.cluster, 'rbd').then((all) => all.filter((o) => o.startsWith(`rbd_data.${info.id}.`)));
  return { c, lib, info, img, data };
}

function pattern(len: number, seed: number): Buffer {
  const b = Buffer.alloc(len);
  for (let i = 0; i < len; i++) b[i] = (i * 31 + seed) & 0xff || 1;
  return b;
}

async function objectSize(c: { cluster: Cluster }, oid: string): Promise<number> {
  const io = await c.cluster.ioctx('rbd');
  try {
    return (await io.stat(oid)).size;
  } finally {
    await io.close();
  }
}

t.test('a write spanning objects is split at object boundaries and reads back', async (t) => {
  const { c, info, img, data } = await setup(t);
  t.equal(info.order, 16);
  t.equal(info.numObjects, 16);
  t.equal(info.blockNamePrefix, `rbd_data.${info.id}`);
  t.match(info.id, /^[0-9a-f]{12}$/);
  const buf = pattern(2 * OBJ + 100, 7);
  await img.write(OBJ - 50, buf);
  t.same(await data(), [0, 1, 2, 3].map((n) => `rbd_data.${info.id}.${n.toString(16).padStart(16, '0')}`),
    'objects 0..3 exist, named <prefix>.<16 hex digits>');
  t.same(await img.read(OBJ - 50, buf.length), buf, 'the whole range');
  t.same(await img.read(2 * OBJ, 10), buf.subarray(OBJ + 50, OBJ + 60), 'a piece inside one object');
  t.equal(await objectSize(c, `rbd_data.${info.id}.0000000000000000`), OBJ, 'object 0 holds its tail');
  t.equal(await objectSize(c, `rbd_data.${info.id}.0000000000000003`), 50, 'object 3 holds the last 50 bytes');
});

t.test('unwritten ranges read as zeros and reading creates nothing', async (t) => {
  const { img, data } = await setup(t);
  await img.write(5 * OBJ + 10, Buffer.from('x'));
  const r = await img.read(4 * OBJ, 2 * OBJ);
  t.equal(r.length, 2 * OBJ);
  t.equal(r[OBJ + 10], 'x'.charCodeAt(0));
  r[OBJ + 10] = 0;
  t.ok(r.every((b) => b === 0), 'everything else is zero');
  t.same(await img.read(0, 16), Buffer.alloc(16));
  t.equal((await data()).length, 1, 'only the written object exists');
  t.same(await img.read(5 * OBJ + 11, 100), Buffer.alloc(100), 'past the end of a short object');
});

t.test('discard: whole objects go away, tails are truncated, middles read as zeros', async (t) => {
  const { c, info, img, data } = await setup(t);
  await img.write(0, pattern(4 * OBJ, 3));
  await img.discard(OBJ, OBJ);
  t.equal((await data()).length, 3, 'object 1 removed');
  await img.discard(2 * OBJ + 1000, OBJ - 1000);
  t.equal(await objectSize(c, `rbd_data.${info.id}.0000000000000002`), 1000, 'object 2 cut at the discard');
  await img.writeZeroes(3 * OBJ + 10, 20);
  t.equal(await objectSize(c, `rbd_data.${info.id}.0000000000000003`), OBJ, 'a middle range keeps the object size');
  const expect = pattern(4 * OBJ, 3);
  expect.fill(0, OBJ, 2 * OBJ);
  expect.fill(0, 2 * OBJ + 1000, 3 * OBJ);
  expect.fill(0, 3 * OBJ + 10, 3 * OBJ + 30);
  t.same(await img.read(0, 4 * OBJ), expect);
  await img.discard(0, info.size);
  t.same(await data(), [], 'discarding everything leaves no data objects');
  await img.discard(8 * OBJ, 10);
  t.same(await data(), [], 'discarding a hole creates nothing');
});

t.test('I/O outside the image is EINVAL and changes nothing', async (t) => {
  const { img, data, info } = await setup(t);
  await t.rejects(img.write(info.size - 1, Buffer.from('ab')), { code: 'ERR_INVALID_ARGUMENT', errno: 'EINVAL' });
  await t.rejects(img.read(info.size, 1), /beyond the end of image rbd\/img/);
  await t.rejects(img.discard(-1, 1), { code: 'ERR_INVALID_ARGUMENT' });
  t.same(await data(), []);
});

t.test('resize: grow, refuse a shrink without allowShrink, shrink trims objects', async (t) => {
  const { c, info, img, data, lib } = await setup(t);
  await img.write(0, pattern(3 * OBJ + 100, 9));
  await img.resize(2 * M);
  t.equal(img.info.size, 2 * M);
  t.same(await img.read(2 * M - 10, 10), Buffer.alloc(10), 'the new range reads as zeros');
  await t.rejects(img.resize(OBJ + 10), {
    code: 'ERR_INVALID_ARGUMENT', message: 'shrinking an image is only allowed with the --allow-shrink flag',
  });
  t.equal((await img.refresh()).size, 2 * M, 'refused shrink changed nothing');
  t.equal((await data()).length, 4);
  await img.resize(OBJ + 10, { allowShrink: true });
  t.equal(img.info.size, OBJ + 10);
  t.equal(img.info.numObjects, 2);
  t.equal((await data()).length, 2, 'objects past the end are gone');
  t.equal(await objectSize(c, `rbd_data.${info.id}.0000000000000001`), 10, 'the last object is cut');
  t.same(await img.read(0, OBJ + 10), pattern(3 * OBJ + 100, 9).subarray(0, OBJ + 10));
  await img.resize(3 * OBJ);
  t.same(await img.read(OBJ + 10, 100), Buffer.alloc(100), 'grown again: the cut bytes do not come back');
  const other = await lib.openImage(c.cluster, 'rbd', 'img', { readOnly: true });
  t.equal(other.info.size, 3 * OBJ, 'the header holds the size');
  await other.close();
  await t.rejects(img.resize(-1), { code: 'ERR_INVALID_ARGUMENT' });
});

t.test('a read-only handle refuses every change with EROFS', async (t) => {
  const { c, lib, data } = await setup(t);
  const ro = c.track(await lib.openImage(c.cluster, 'rbd', 'img', { readOnly: true }));
  const ops = [() => ro.write(0, Buffer.from('a')), () => ro.discard(0, 1), () => ro.resize(8 * M), () => ro.updateFeatures(8, true), () => ro.flush()];
  for (const op of ops) await t.rejects(op(), { code: 'ERR_IMAGE_READ_ONLY', errno: 'EROFS' });
  t.equal((await ro.refresh()).size, 1 * M);
  t.same(await data(), []);
});

t.test('another client sees header changes through the header_update notify', async (t) => {
  const { c, lib, img } = await setup(t);
  const c2 = await c.connect();
  const other = c.track(await lib.openImage(c2, 'rbd', 'img', { lockWaitTimeoutMs: 500 }));
  await img.resize(4 * M);
  for (let i = 0; i < 100 && other.info.size !== 4 * M; i++) await new Promise((r) => setTimeout(r, 20));
  t.equal(other.info.size, 4 * M, 'refreshed without asking');
});

t.test('apply() dispatches events through the same calls', async (t) => {
  const { img } = await setup(t);
  await img.apply({ type: 'write', offset: 10, length: 3, data: Buffer.from('abc') });
  await img.apply({ type: 'write_zeroes', offset: 11, length: 1 });
  t.same(await img.read(10, 3), Buffer.from('a\0c'));
  await img.apply({ type: 'discard', offset: 10, length: 1 });
  await img.apply({ type: 'flush' });
  t.same(await img.read(10, 3), Buffer.from('\0\0c'));
  await img.apply({ type: 'resize', size: OBJ, oldSize: M });
  t.equal(img.info.size, OBJ, 'a replayed shrink needs no flag');
  await img.apply({ type: 'update_features', features: 64, enabled: true, oldFeatures: 5, newFeatures: 69 });
  t.equal(img.info.features, 1 | 4 | 64);
});

t.test('the modify timestamp is refreshed by a write once it is a minute old', async (t) => {
  const { c, info, img } = await setup(t);
  const io = c.track(await c.cluster.ioctx('rbd'));
  const old = Date.now() - 3600_000;
  await io.omapSet(`rbd_header.${info.id}`, new Map([['modify_timestamp', Buffer.from(String(old))]]));
  await img.refresh();
  t.equal(img.info.modifyTimestamp, old);
  await img.write(0, Buffer.from('x'));
  const now = (await img.refresh()).modifyTimestamp;
  t.ok(now > old && Date.now() - now < 60_000, 'set to now');
  await img.write(1, Buffer.from('y'));
  t.equal((await img.refresh()).modifyTimestamp, now, 'not rewritten within the interval');
  t.ok(info.createTimestamp > 0 && info.createTimestamp <= Date.now());
});

t.test('a closed handle refuses I/O', async (t) => {
  const { c, lib } = await setup(t);
  const img = await lib.openImage(c.cluster, 'rbd', 'img', { readOnly: true });
  await img.close();
  await img.close();
  await t.rejects(img.read(0, 1), /is closed/);
});
