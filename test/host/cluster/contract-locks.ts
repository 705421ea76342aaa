/**
 * Contract: cls_lock (exclusive, shared, break, expiry). Lockers are (instance, cookie), so
 * "another client" is a second connection.
 */
import type { Test } from 'tap';
import { B, poolTest, rejectsWith, sleep, type StoreHarness } from './contract-harness.js';

export function lockContract(t: Test, h: () => StoreHarness): void {
  poolTest(t, h, 'exclusive locks', async (t, { h, pool, io }) => {
    const other = await h.connect('client.admin', h.adminKey);
    const io2 = await other.ioctx(pool);
    const me = h.cluster.instanceId;
    await io.lockExclusive('l', 'lk', 'c1', { description: 'mine' });
    t.equal((await io.stat('l')).size, 0, 'taking a lock creates the object');
    t.same(await io.getLockInfo('l', 'lk'), {
      exclusive: true, tag: '',
      lockers: [{ instanceId: me, entity: 'client.admin', cookie: 'c1', description: 'mine', expiresAt: 0 }],
    }, 'lock info');
    await rejectsWith(t, io.lockExclusive('l', 'lk', 'c1'), 'EEXIST', undefined, 'the same holder again');
    await rejectsWith(t, io.lockExclusive('l', 'lk', 'c2'), 'EBUSY', undefined, 'same client, another cookie');
    await rejectsWith(t, io2.lockExclusive('l', 'lk', 'c1'), 'EBUSY', undefined, 'another client, same cookie');
    await rejectsWith(t, io2.lockShared('l', 'lk', 'c1', ''), 'EBUSY', undefined, 'shared over exclusive');
    await rejectsWith(t, io2.unlock('l', 'lk', 'c1'), 'ENOENT', undefined, 'another client cannot unlock it');
    await io2.lockExclusive('l', 'other-name', 'c1');
    t.pass('locks with other names are independent');

    await io2.breakLock('l', 'lk', me, 'c1');
    t.same((await io.getLockInfo('l', 'lk')).lockers, [], 'broken');
    await rejectsWith(t, io.unlock('l', 'lk', 'c1'), 'ENOENT', undefined, 'the old holder finds it gone');
    await rejectsWith(t, io2.breakLock('l', 'lk', me, 'c1'), 'ENOENT', undefined, 'breaking a lock not held');
    await io2.lockExclusive('l', 'lk', 'c9');
    t.equal((await io.getLockInfo('l', 'lk')).lockers[0]?.instanceId, other.instanceId, 'now held by the other');
    await io2.unlock('l', 'lk', 'c9');
    t.same(await io.getLockInfo('l', 'lk'), { exclusive: false, tag: '', lockers: [] }, 'unlocked');
    await rejectsWith(t, io.getLockInfo('none', 'lk'), 'ENOENT', undefined, 'lock info of a missing object');
    await rejectsWith(t, io.unlock('none', 'lk', 'c1'), 'ENOENT', undefined, 'unlock on a missing object');
    await io2.close();
    await other.shutdown();
  });

  poolTest(t, h, 'shared locks', async (t, { h, pool, io }) => {
    const other = await h.connect('client.admin', h.adminKey);
    const io2 = await other.ioctx(pool);
    await io.writeFull('s', B('x'));
    await io.lockShared('s', 'lk', 'a', 'tag1', { description: 'reader' });
    await io2.lockShared('s', 'lk', 'b', 'tag1');
    const info = await io.getLockInfo('s', 'lk');
    t.same([info.exclusive, info.tag, info.lockers.map((l) => l.cookie).sort()], [false, 'tag1', ['a', 'b']], 'two shared holders');
    await rejectsWith(t, io2.lockShared('s', 'lk', 'c', 'tag2'), 'EBUSY', undefined, 'another tag');
    await rejectsWith(t, io2.lockExclusive('s', 'lk', 'd', { tag: 'tag1' }), 'EBUSY', undefined, 'exclusive over shared');
    await io.unlock('s', 'lk', 'a');
    await io2.unlock('s', 'lk', 'b');
    await io.lockExclusive('s', 'lk', 'e');
    t.equal((await io.getLockInfo('s', 'lk')).exclusive, true, 'exclusive once all shared holders left');
    t.same(await io.read('s'), B('x'), 'locks do not touch the data');
    await io2.close();
    await other.shutdown();
  });

  poolTest(t, h, 'an expired lock lapses', async (t, { h, pool, io }) => {
    const other = await h.connect('client.admin', h.adminKey);
    const io2 = await other.ioctx(pool);
    const before = Date.now();
    await io.lockExclusive('e', 'lk', 'c', { durationMs: 300 });
    const [locker] = (await io.getLockInfo('e', 'lk')).lockers;
    t.ok(locker && locker.expiresAt >= before + 300, 'expiresAt is set');
    await rejectsWith(t, io2.lockExclusive('e', 'lk', 'c2'), 'EBUSY', undefined, 'held until it expires');
    await sleep(450);
    t.same((await io.getLockInfo('e', 'lk')).lockers, [], 'gone after expiry');
    await io2.lockExclusive('e', 'lk', 'c2');
    t.pass('another client takes it');
    await rejectsWith(t, io.unlock('e', 'lk', 'c'), 'ENOENT', undefined, 'the lapsed holder cannot unlock');
    await io2.close();
    await other.shutdown();
  });

  poolTest(t, h, 'renew (LOCK_FLAG_MAY_RENEW) extends a lease, only for its holder', async (t, { h, pool, io }) => {
    const other = await h.connect('client.admin', h.adminKey);
    const io2 = await other.ioctx(pool);
    await io.lockExclusive('r', 'lk', 'c', { durationMs: 400 });
    await rejectsWith(t, io.lockExclusive('r', 'lk', 'c', { durationMs: 400 }), 'EEXIST', undefined, 'without renew: EEXIST');
    await sleep(250);
    await io.lockExclusive('r', 'lk', 'c', { durationMs: 400, renew: true });
    await sleep(250);
    t.equal((await io.getLockInfo('r', 'lk')).lockers.length, 1, 'still held past the first expiry');
    await rejectsWith(t, io2.lockExclusive('r', 'lk', 'c2', { renew: true }), 'EBUSY', undefined, 'another client cannot renew it');
    await sleep(300);
    t.same((await io.getLockInfo('r', 'lk')).lockers, [], 'lapses when no longer renewed');
    await io2.lockExclusive('r', 'lk', 'c2', { durationMs: 1000, renew: true });
    t.pass('renew on a free lock takes it');
    await rejectsWith(t, io.lockExclusive('r', 'lk', 'c', { renew: true }), 'EBUSY', undefined, 'the lapsed holder cannot renew');
    await io2.close();
    await other.shutdown();
  });
}
