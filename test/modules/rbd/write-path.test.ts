// The one write path: stage order, refusals that apply nothing, the lock around it, and the
// create/remove hooks and info sections that later modules register.
import t from 'tap';
import { err, type Cluster } from '../../../host/index.js';
import type { Image, WriteEvent, WriteStage } from '../../../modules/rbd/api.js';
import { ImageHooks } from '../../../modules/rbd/hooks.js';
import { LOCK_NAME } from '../../../modules/rbd/exclusive-lock.js';
import { embeddedCluster, library, objectsOf } from './embedded-cluster.js';

const M = 1 << 20;

function recorder(log: string[], name: string, order: number, extra: Partial<WriteStage> = {}): WriteStage {
  return {
    name,
    order,
    beforeLock: (img) => void log.push(`${name}.beforeLock lock=${img.lockOwner}`),
    afterLock: (img) => void log.push(`${name}.afterLock lock=${img.lockOwner}`),
    beforeApply: (_img, ev) => {
      log.push(`${name}.beforeApply ${ev.type}`);
      return `${name}-token`;
    },
    afterApply: (_img, ev, token, error) => void log.push(`${name}.afterApply ${ev.type} ${String(token)} ${error ? `error=${error.message}` : 'ok'}`),
    beforeRelease: (img) => void log.push(`${name}.beforeRelease lock=${img.lockOwner}`),
    ...extra,
  };
}

async function lockers(cluster: Cluster, id: string) {
  const io = await cluster.ioctx('rbd');
  try {
    return (await io.getLockInfo(`rbd_header.${id}`, LOCK_NAME)).lockers;
  } catch {
    return [];
  } finally {
    await io.close();
  }
}

t.test('stages run in order around the apply, lock taken once', async (t) => {
  const c = await embeddedCluster(t);
  const hooks = new ImageHooks();
  const lib = library({}, { hooks });
  const log: string[] = [];
  lib.registerWriteStage(recorder(log, 'journal', 20));
  lib.registerWriteStage(recorder(log, 'state', 10));
  const info = await lib.createImage(c.cluster, 'rbd', 'img', { size: M, features: 1 | 4 });
  const img = await lib.openImage(c.cluster, 'rbd', 'img');
  await img.write(0, Buffer.from('abc'));
  t.same(log, [
    'state.beforeLock lock=false', 'journal.beforeLock lock=false',
    'state.afterLock lock=true', 'journal.afterLock lock=true',
    'state.beforeApply write', 'journal.beforeApply write',
    'journal.afterApply write journal-token ok', 'state.afterApply write state-token ok',
  ]);
  t.equal((await lockers(c.cluster, info.id)).length, 1, 'the lock is on the header');
  log.length = 0;
  await img.discard(0, 1);
  await img.flush();
  await img.resize(2 * M);
  await img.updateFeatures(64, true);
  t.same(log.filter((l) => l.startsWith('state.beforeApply')),
    ['state.beforeApply discard', 'state.beforeApply flush', 'state.beforeApply resize', 'state.beforeApply update_features'],
    'every change is an event; the lock is not taken again');
  log.length = 0;
  await img.close();
  t.same(log, ['state.beforeRelease lock=true', 'journal.beforeRelease lock=true'], 'stages flush before the release');
  t.same(await lockers(c.cluster, info.id), [], 'released on close');
});

t.test('events carry what a journal needs', async (t) => {
  const c = await embeddedCluster(t);
  const lib = library();
  const events: WriteEvent[] = [];
  lib.registerWriteStage({ name: 'j', order: 1, beforeApply: (_i, ev) => void events.push(ev) });
  await lib.createImage(c.cluster, 'rbd', 'img', { size: M, features: 1 | 4 });
  const img = c.track(await lib.openImage(c.cluster, 'rbd', 'img'));
  await img.write(10, Buffer.from('xy'));
  await img.writeZeroes(0, 5);
  await img.resize(M / 2, { allowShrink: true });
  await img.updateFeatures(8, true);
  t.match(events, [
    { type: 'write', offset: 10, length: 2, data: Buffer.from('xy') },
    { type: 'write_zeroes', offset: 0, length: 5 },
    { type: 'resize', size: M / 2, oldSize: M },
    { type: 'update_features', features: 8 | 16, enabled: true, oldFeatures: 5, newFeatures: 5 | 8 | 16 },
  ]);
});

t.test('a stage refusing a client write (non-primary) applies nothing; replay passes', async (t) => {
  const c = await embeddedCluster(t);
  const lib = library();
  const log: string[] = [];
  lib.registerWriteStage(recorder(log, 'state', 10, {
    beforeApply: (img: Image, ev) => {
      log.push(`state.beforeApply ${ev.type}`);
      if (img.purpose === 'client') throw err('ERR_IMAGE_READ_ONLY', 'image is non-primary');
      return 'ok';
    },
  }));
  lib.registerWriteStage(recorder(log, 'journal', 20));
  const info = await lib.createImage(c.cluster, 'rbd', 'img', { size: M, features: 1 | 4 });
  const img = c.track(await lib.openImage(c.cluster, 'rbd', 'img'));
  await t.rejects(img.write(0, Buffer.from('x')), { code: 'ERR_IMAGE_READ_ONLY', errno: 'EROFS', message: 'image is non-primary' });
  await t.rejects(img.resize(2 * M), { code: 'ERR_IMAGE_READ_ONLY', errno: 'EROFS' });
  t.notOk(log.some((l) => l.startsWith('journal.beforeApply')), 'later stages never saw the refused events');
  t.notOk(log.some((l) => l.startsWith('state.afterApply')), 'the refusing stage gets no afterApply');
  t.same(await objectsOf(c.cluster, 'rbd'), ['rbd_directory', `rbd_header.${info.id}`, 'rbd_id.img'], 'no data object');
  t.equal((await img.refresh()).size, M, 'size unchanged');
  await img.close();
  const replay = c.track(await lib.openImage(c.cluster, 'rbd', 'img', { purpose: 'replay' }));
  await replay.write(0, Buffer.from('r'));
  t.same(await replay.read(0, 1), Buffer.from('r'), 'the replayer writes the non-primary image');
});

t.test('a later refusal unwinds the earlier stages with the error', async (t) => {
  const c = await embeddedCluster(t);
  const lib = library();
  const log: string[] = [];
  lib.registerWriteStage(recorder(log, 'first', 1));
  lib.registerWriteStage({ name: 'second', order: 2, beforeApply: () => { throw err('ERR_IMAGE_BUSY', 'journal full'); } });
  await lib.createImage(c.cluster, 'rbd', 'img', { size: M, features: 1 });
  const img = c.track(await lib.openImage(c.cluster, 'rbd', 'img'));
  await t.rejects(img.write(0, Buffer.from('x')), { message: 'journal full' });
  t.same(log.slice(-2), ['first.beforeApply write', 'first.afterApply write first-token error=journal full']);
  t.same(await img.read(0, 1), Buffer.alloc(1));
});

t.test('a failing apply reaches afterApply with the error (caps refuse the data pool)', async (t) => {
  const c = await embeddedCluster(t, ['rbd', 'data']);
  const lib = library();
  const log: string[] = [];
  lib.registerWriteStage(recorder(log, 'j', 1));
  await lib.createImage(c.cluster, 'rbd', 'img', { size: M, features: 1, dataPool: 'data' });
  const entity = await c.cluster.auth.getOrCreate('client.half', { mon: 'profile rbd', osd: 'profile rbd pool=rbd, allow r pool=data' });
  const { embeddedBackend } = await import('../../../host/cluster/embedded/index.js');
  const limited = await embeddedBackend.connect({
    clusterName: 'test', conf: { global: { data_dir: c.dataDir } }, confPath: '', entity: 'client.half', key: entity.key,
  });
  t.teardown(() => limited.shutdown());
  const img = await lib.openImage(limited, 'rbd', 'img');
  await t.rejects(img.write(0, Buffer.from('x')), { code: 'ERR_PERMISSION', errno: 'EACCES' });
  t.match(log[log.length - 1], /^j\.afterApply write j-token error=/);
  t.same(await img.read(0, 1), Buffer.alloc(1), 'reads still work');
  await img.close();
});

t.test('beforeLock refuses before the lock is asked for; afterLock refusal releases it', async (t) => {
  const c = await embeddedCluster(t);
  const lib = library();
  let refuse: 'before' | 'after' | undefined = 'before';
  lib.registerWriteStage({
    name: 's', order: 1,
    beforeLock: () => { if (refuse === 'before') throw err('ERR_IMAGE_READ_ONLY', 'not primary'); },
    afterLock: () => { if (refuse === 'after') throw err('ERR_IMAGE_READ_ONLY', 'tag mismatch'); },
  });
  const info = await lib.createImage(c.cluster, 'rbd', 'img', { size: M, features: 1 | 4 });
  const img = c.track(await lib.openImage(c.cluster, 'rbd', 'img'));
  await t.rejects(img.write(0, Buffer.from('x')), { message: 'not primary' });
  t.same(await lockers(c.cluster, info.id), [], 'never locked');
  refuse = 'after';
  await t.rejects(img.flush(), { message: 'tag mismatch' });
  t.same(await lockers(c.cluster, info.id), [], 'released again');
  t.notOk(img.lockOwner);
  refuse = undefined;
  await img.write(0, Buffer.from('x'));
  t.ok(img.lockOwner, 'a later write starts again and succeeds');
});

t.test('images without exclusive-lock run beforeLock/afterLock once and take no lock', async (t) => {
  const c = await embeddedCluster(t);
  const lib = library();
  const log: string[] = [];
  lib.registerWriteStage(recorder(log, 's', 1));
  const info = await lib.createImage(c.cluster, 'rbd', 'img', { size: M, features: 1 });
  const img = c.track(await lib.openImage(c.cluster, 'rbd', 'img'));
  await img.write(0, Buffer.from('a'));
  await img.write(1, Buffer.from('b'));
  t.same(log.filter((l) => l.includes('Lock')), ['s.beforeLock lock=false', 's.afterLock lock=false']);
  t.same(await lockers(c.cluster, info.id), []);
});

t.test('registration: by name, replaceable, removable, checked', async (t) => {
  const hooks = new ImageHooks();
  const lib = library({}, { hooks });
  const a = { name: 'a', order: 5 };
  const off = lib.registerWriteStage(a);
  lib.registerWriteStage({ name: 'b', order: 1 });
  t.same(hooks.stages.list().map((s) => s.name), ['b', 'a']);
  const a2 = { name: 'a', order: 0 };
  lib.registerWriteStage(a2);
  t.same(hooks.stages.list(), [a2, { name: 'b', order: 1 }], 'same name replaces');
  off();
  t.equal(hooks.stages.list().length, 2, 'a stale unregister does not remove the replacement');
  t.throws(() => lib.registerWriteStage({ name: '', order: 1 }), { code: 'ERR_INVALID_ARGUMENT' });
  t.throws(() => lib.registerInfoSection({ name: 'x', order: NaN, collect: async () => undefined, render: () => [] }), { code: 'ERR_INVALID_ARGUMENT' });
  t.equal(lib.features.journaling, 64);
  t.same(lib.featureNames(68), ['exclusive-lock', 'journaling']);
});

t.test('lifecycle hooks: afterCreate in order; a failure rolls the creation back', async (t) => {
  const c = await embeddedCluster(t);
  const lib = library();
  const log: string[] = [];
  lib.registerLifecycleHook({
    name: 'journal', order: 1,
    afterCreate: async (ref) => void log.push(`journal.create ${ref.info.name} ${ref.info.features}`),
    beforeRemove: async (ref) => void log.push(`journal.remove ${ref.info.name}`),
  });
  const off = lib.registerLifecycleHook({
    name: 'mirror', order: 2,
    afterCreate: async (ref) => {
      if (ref.info.name === 'bad') throw err('ERR_INVALID_ARGUMENT', 'mirroring refuses');
      log.push(`mirror.create ${ref.info.name}`);
    },
  });
  await lib.createImage(c.cluster, 'rbd', 'good', { size: M, features: 4 | 64 });
  t.same(log, ['journal.create good 68', 'mirror.create good']);
  const before = await objectsOf(c.cluster, 'rbd');
  log.length = 0;
  await t.rejects(lib.createImage(c.cluster, 'rbd', 'bad', { size: M }), { message: 'mirroring refuses' });
  t.same(log, ['journal.create bad 61', 'journal.remove bad'], 'hooks that ran are undone');
  t.same(await objectsOf(c.cluster, 'rbd'), before, 'no trace of the failed image');
  t.same((await lib.listImages(c.cluster, 'rbd')).map((i) => i.name), ['good']);
  off();
});

t.test('lifecycle hooks: a beforeRemove refusal removes nothing', async (t) => {
  const c = await embeddedCluster(t);
  const lib = library();
  let refuse = true;
  lib.registerLifecycleHook({
    name: 'state', order: 1,
    beforeRemove: async () => { if (refuse) throw err('ERR_IMAGE_READ_ONLY', 'image is non-primary'); },
  });
  const info = await lib.createImage(c.cluster, 'rbd', 'img', { size: M, features: 1 });
  const img = await lib.openImage(c.cluster, 'rbd', 'img');
  await img.write(0, Buffer.from('x'));
  await img.close();
  const before = await objectsOf(c.cluster, 'rbd');
  await t.rejects(lib.removeImage(c.cluster, 'rbd', 'img'), { message: 'image is non-primary' });
  t.same(await objectsOf(c.cluster, 'rbd'), before);
  refuse = false;
  await lib.removeImage(c.cluster, 'rbd', 'img');
  t.notOk((await objectsOf(c.cluster, 'rbd')).some((o) => o.includes(info.id)));
});

t.test('applyDisjoint: every event passes the stages, writes to one object go as one operation', async (t) => {
  const c = await embeddedCluster(t);
  const lib = library();
  const log: string[] = [];
  lib.registerWriteStage(recorder(log, 'state', 10));
  lib.registerWriteStage(recorder(log, 'journal', 20));
  const OBJ = 4 * M;
  await lib.createImage(c.cluster, 'rbd', 'img', { size: 4 * OBJ, features: 1 | 4 });
  const img = c.track(await lib.openImage(c.cluster, 'rbd', 'img'));
  await img.write(0, Buffer.alloc(3 * OBJ, 7));
  const model = Buffer.alloc(4 * OBJ);
  model.fill(7, 0, 3 * OBJ);
  const writes: WriteEvent[] = [];
  // Three writes into object 0, one spanning objects 1 and 2.
  for (const [offset, length] of [[0, 4096], [8192, 100], [M, 70_000], [2 * OBJ - 5000, 10_000]] as const) {
    const data = Buffer.alloc(length, offset % 251 + 1);
    writes.push({ type: 'write', offset, length, data });
    data.copy(model, offset);
  }
  const stats = (c.cluster as unknown as { committer?: { stats: { writeOps: number } } }).committer?.stats;
  const before = stats?.writeOps ?? 0;
  await img.applyDisjoint(writes);
  if (stats) t.equal(stats.writeOps - before, 3, 'one store operation per object written (objects 0, 1, 2)');
  // Zeroings beside a write, in one object and across the tail of another.
  const mixed: WriteEvent[] = [
    { type: 'discard', offset: 2 * OBJ + M, length: M },
    { type: 'write_zeroes', offset: 3 * M, length: 4096 },
    { type: 'write', offset: 3 * M + 4096, length: 3, data: Buffer.from('xyz') },
    { type: 'discard', offset: 2 * OBJ + 3 * M, length: OBJ },
  ];
  model.fill(0, 2 * OBJ + M, 2 * OBJ + 2 * M);
  model.fill(0, 3 * M, 3 * M + 4096);
  Buffer.from('xyz').copy(model, 3 * M + 4096);
  model.fill(0, 2 * OBJ + 3 * M, 3 * OBJ + 3 * M);
  log.length = 0;
  await img.applyDisjoint(mixed);
  const got = await img.read(0, 4 * OBJ);
  let bad = -1;
  for (let i = 0; i < model.length && bad < 0; i += 4096) if (!got.subarray(i, i + 4096).equals(model.subarray(i, i + 4096))) bad = i;
  t.equal(bad, -1, 'the image equals the model (first differing block, or -1)');
  t.same(log.filter((l) => l.startsWith('state.beforeApply')).sort(),
    ['state.beforeApply discard', 'state.beforeApply discard', 'state.beforeApply write', 'state.beforeApply write_zeroes'], 'each event passed the first stage');
  t.equal(log.filter((l) => l.startsWith('journal.afterApply') && l.endsWith('journal-token ok')).length, 4, 'and every event unwound ok');
});

t.test('applyDisjoint refuses bad input and refusing stages without applying anything', async (t) => {
  const c = await embeddedCluster(t);
  const lib = library();
  let refuseAt = -1;
  const unwound: string[] = [];
  lib.registerWriteStage({
    name: 'gate', order: 1,
    beforeApply: (_img, ev) => {
      if (ev.type === 'write' && ev.offset === refuseAt) throw err('ERR_IMAGE_READ_ONLY', 'image is non-primary');
      return 'tok';
    },
    afterApply: (_img, ev, _tok, error) => void unwound.push(`${ev.type}@${'offset' in ev ? ev.offset : ''} ${error ? error.message : 'ok'}`),
  });
  await lib.createImage(c.cluster, 'rbd', 'img', { size: M, features: 1 | 4 });
  const img = c.track(await lib.openImage(c.cluster, 'rbd', 'img'));
  const w = (offset: number): WriteEvent => ({ type: 'write', offset, length: 4, data: Buffer.from('abcd') });
  await t.rejects(img.applyDisjoint([w(0), w(M)]), { code: 'ERR_INVALID_ARGUMENT', message: /beyond the end/ }, 'a range past the end');
  await t.rejects(img.applyDisjoint([w(0), { type: 'resize', size: 2 * M, oldSize: M }]), { code: 'ERR_INVALID_ARGUMENT', message: /not resize/ }, 'a barrier event');
  t.same(unwound, [], 'bad input reached no stage');
  refuseAt = 8;
  await t.rejects(img.applyDisjoint([w(0), w(8), w(16)]), { code: 'ERR_IMAGE_READ_ONLY', message: 'image is non-primary' });
  t.same(unwound.sort(), ['write@0 image is non-primary', 'write@16 image is non-primary'], 'the others unwound with the refusal');
  t.same(await img.read(0, 20), Buffer.alloc(20), 'nothing was applied');
  const ro = c.track(await lib.openImage(c.cluster, 'rbd', 'img', { readOnly: true }));
  await t.rejects(ro.applyDisjoint([w(0)]), { code: 'ERR_IMAGE_READ_ONLY' }, 'a read-only handle');
  await img.applyDisjoint([]);
  t.same(await img.read(0, 20), Buffer.alloc(20), 'an empty batch changes nothing');
  const closed = await lib.openImage(c.cluster, 'rbd', 'img');
  await closed.close();
  await t.rejects(closed.applyDisjoint([]), { code: 'ERR_INVALID_ARGUMENT', message: /is closed/ }, 'a closed handle');
});
