/**
 * Embedded backend: cephx-style authentication, the auth database, and caps enforcement.
 */
import type { Test } from 'tap';
import type { Cluster } from '../../../host/cluster/store.js';
import { B, rejectsWith } from './contract-harness.js';
import { type EmbeddedHarness, withHarness } from './embedded-harness.js';


const denied = (t: Test, p: Promise<unknown>, what: string) => rejectsWith(t, p, 'EACCES', 'ERR_PERMISSION', what);

async function client(h: EmbeddedHarness, entity: string, caps: Record<string, string>): Promise<Cluster> {
  const { key } = await h.cluster.auth.getOrCreate(entity, caps);
  return h.connect(entity, key);
}

export function authTests(t: Test): void {
  t.test('authentication', (t) =>
    withHarness(t, async (h) => {
      await t.rejects(h.connect('client.admin', 'AQBmmgZrAAAAABAAn0tTheRightKeyAtAllAAAA=='), {
        code: 'ERR_AUTH', errno: 'EACCES', message: /^authentication error: wrong key/,
      }, 'a wrong key is refused');
      await t.rejects(h.connect('client.nobody', h.adminKey), { code: 'ERR_AUTH', errno: 'EACCES' }, 'an unknown entity is refused');
      const c = await h.connect('client.admin', h.adminKey);
      t.equal(c.entity, 'client.admin', 'the right key connects');
    }),
  );

  t.test('the auth database', (t) =>
    withHarness(t, async (h) => {
      const auth = h.cluster.auth;
      const caps = { mon: 'profile rbd', osd: 'profile rbd pool=a' };
      const a = await auth.getOrCreate('client.a', caps);
      t.match(a, { entity: 'client.a', key: /^AQ[A-Za-z0-9+/]{36}==$/, caps }, 'created with a cephx key');
      t.same(await auth.getOrCreate('client.a', { osd: 'profile rbd pool=a', mon: 'profile rbd' }), a, 'get-or-create returns the existing entity');
      await rejectsWith(t, auth.getOrCreate('client.a', { mon: 'profile rbd' }), 'EINVAL', 'ERR_INVALID_ARGUMENT', 'existing entity, other caps');
      t.same(await auth.get('client.a'), a);
      const before = await auth.list();
      t.same(before.map((e) => e.entity), ['client.a', 'client.admin'], 'list');
      t.same(before.find((e) => e.entity === 'client.admin')?.caps, { mgr: 'allow *', mon: 'allow *', osd: 'allow *' }, 'the admin caps');
      for (const [what, call] of [
        ['entity without a type', () => auth.getOrCreate('nodot', {})],
        ['unknown entity type', () => auth.getOrCreate('foo.bar', {})],
        ['bad osd cap', () => auth.getOrCreate('client.b', { osd: 'allow q' })],
        ['unknown service', () => auth.getOrCreate('client.b', { rgw: 'allow *' })],
        ['bad caps on set', () => auth.setCaps('client.a', { mon: 'allow everything' })],
      ] as const) {
        await rejectsWith(t, call(), 'EINVAL', 'ERR_INVALID_ARGUMENT', what);
      }
      t.same(await auth.list(), before, 'bad input changed nothing');
      const updated = await auth.setCaps('client.a', { mon: 'allow r' });
      t.same([updated.key, updated.caps], [a.key, { mon: 'allow r' }], 'setCaps keeps the key');
      await auth.remove('client.a');
      await rejectsWith(t, auth.get('client.a'), 'ENOENT', 'ERR_ENTITY_NOT_FOUND', 'removed');
      await rejectsWith(t, auth.remove('client.a'), 'ENOENT', 'ERR_ENTITY_NOT_FOUND', 'remove of an unknown entity');
      await rejectsWith(t, auth.setCaps('client.zz', { mon: 'allow r' }), 'ENOENT', 'ERR_ENTITY_NOT_FOUND', 'setCaps of an unknown entity');
      await t.rejects(h.connect('client.a', a.key), { code: 'ERR_AUTH' }, 'a removed entity cannot connect');
    }),
  );

  t.test('caps are enforced per pool and per operation', (t) =>
    withHarness(t, async (h) => {
      for (const p of ['a', 'b']) {
        await h.cluster.createPool(p);
        const io = await h.cluster.ioctx(p);
        await io.writeFull('o', B(`in ${p}`));
        await io.close();
      }
      const r = await client(h, 'client.ra', { mon: 'profile rbd', osd: 'allow r pool=a' });
      const ra = await r.ioctx('a');
      t.same(await ra.read('o'), B('in a'), "osd 'allow r pool=a' reads a");
      t.same((await r.listPools()).map((p) => p.name), ['a', 'b'], 'mon profile rbd lists pools');
      await t.rejects(ra.write('o', B('X'), 0), { code: 'ERR_PERMISSION', message: /: \(13\) Permission denied$/ }, 'but cannot write a');
      await denied(t, ra.omapSet('o', new Map([['k', B('v')]])), 'nor set omap');
      await denied(t, ra.watch('o', () => undefined), 'nor watch (a write op)');
      t.same(await ra.notify('o', B('x'), 100), { acks: [], timeouts: [] }, 'notify needs only r');
      await denied(t, ra.getLockInfo('o', 'lk'), 'no class-read without x');
      const rb = await r.ioctx('b');
      await denied(t, rb.read('o'), 'nor read b');
      await denied(t, rb.stat('o'), 'nor stat b');
      await t.rejects((async () => { for await (const _ of rb.listObjects()) void _; })(), { code: 'ERR_PERMISSION' }, 'nor list b');
      await denied(t, r.createPool('c'), 'mon profile rbd cannot create pools');
      await denied(t, r.deletePool('a'), 'nor delete them');
      await denied(t, r.auth.list(), 'nor read the auth database');

      const admin = await h.cluster.ioctx('a');
      t.same(await admin.read('o'), B('in a'), 'denied writes changed nothing');

      const ro = await (await client(h, 'client.ro', { mon: 'profile rbd', osd: 'profile rbd-read-only pool=a' })).ioctx('a');
      t.same((await ro.getLockInfo('o', 'lk')).lockers, [], 'rbd-read-only has class-read');
      await denied(t, ro.lockExclusive('o', 'lk', 'c'), 'but not class-write');
      await denied(t, ro.writeFull('o', B('x')), 'nor write');

      const rw = await (await client(h, 'client.rbd', { mon: 'profile rbd', osd: 'profile rbd' })).ioctx('b');
      await rw.writeFull('o', B('rbd'));
      await rw.lockExclusive('o', 'lk', 'c');
      const w = await rw.watch('o', () => undefined);
      await w.close();
      t.pass('profile rbd writes, locks and watches in any pool');

      const plain = await (await client(h, 'client.rw', { mon: 'allow r', osd: 'allow rw' })).ioctx('b');
      await plain.write('o', B('R'), 0);
      await denied(t, plain.lockExclusive('o', 'lk2', 'c'), "osd 'allow rw' has no class access (cls_lock needs x)");

      const nomon = await client(h, 'client.nomon', { osd: 'allow *' });
      await denied(t, nomon.ioctx('a'), 'no mon caps: cannot open a pool');
      await denied(t, nomon.listPools(), 'nor list pools');

      const guards = await (await client(h, 'client.wo', { mon: 'allow r', osd: 'allow w' })).ioctx('a');
      await guards.write('o', B('W'), 0);
      await denied(t, guards.operate('o', { guards: [{ op: 'assert_exists' }], steps: [{ op: 'write', offset: 0, data: B('G') }] }), 'guards are reads: w alone cannot use them');

      await h.cluster.auth.setCaps('client.ra', { mon: 'profile rbd', osd: 'allow rw pool=a' });
      await denied(t, ra.write('o', B('X'), 0), 'an open connection keeps its caps');
      const again = await (await h.connect('client.ra', (await h.cluster.auth.get('client.ra')).key)).ioctx('a');
      await again.write('o', B('X'), 0);
      t.pass('a new connection gets the new caps');
    }),
  );
}
