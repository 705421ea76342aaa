/**
 * Contract: watch/notify, in one process and across processes.
 */
import type { Test } from 'tap';
import type { NotifyMessage } from '../../../host/cluster/store.js';
import { B, ChildLines, exited, poolTest, rejectsWith, type StoreHarness } from './contract-harness.js';

const sortBy = <T extends { instanceId: string; cookie: string }>(xs: T[]) =>
  [...xs].sort((a, b) => (a.instanceId + a.cookie).localeCompare(b.instanceId + b.cookie));

export function watchContract(t: Test, h: () => StoreHarness): void {
  poolTest(t, h, 'watch and notify in one process', async (t, { h, pool, io }) => {
    await io.writeFull('w', B(''));
    const other = await h.connect('client.admin', h.adminKey);
    const io2 = await other.ioctx(pool);
    t.not(other.instanceId, h.cluster.instanceId, 'connections have distinct instance ids');
    const got: NotifyMessage[] = [];
    const w1 = await io.watch('w', (m) => {
      got.push(m);
      return B(`one:${m.payload.toString()}`);
    });
    const w2 = await io2.watch('w', (m) => {
      got.push(m);
      return B(`two:${m.payload.toString()}`);
    });
    const res = await io.notify('w', B('hi'), 5000);
    t.same(res.timeouts, [], 'no timeouts');
    t.same(sortBy(res.acks), sortBy([
      { instanceId: h.cluster.instanceId, cookie: w1.cookie, reply: B('one:hi') },
      { instanceId: other.instanceId, cookie: w2.cookie, reply: B('two:hi') },
    ]), 'each watcher acked with its reply');
    t.equal(got.length, 2);
    t.same(got.map((m) => m.payload.toString()), ['hi', 'hi'], 'payload delivered');
    t.ok(got.every((m) => m.notifierId === h.cluster.instanceId && m.notifyId === got[0]!.notifyId), 'notifier and notify ids');
    t.same(new Set(got.map((m) => m.cookie)), new Set([w1.cookie, w2.cookie]), 'each got its own cookie');

    t.same(sortBy(await io.listWatchers('w')), sortBy([
      { instanceId: h.cluster.instanceId, entity: 'client.admin', cookie: w1.cookie },
      { instanceId: other.instanceId, entity: 'client.admin', cookie: w2.cookie },
    ]), 'listWatchers');
    await w2.close();
    t.same((await io.listWatchers('w')).map((w) => w.cookie), [w1.cookie], 'a closed watch is gone');
    const res2 = await io.notify('w', B('again'));
    t.same(res2.acks.map((a) => a.cookie), [w1.cookie], 'and no longer notified');
    await w2.close();
    t.pass('closing twice is harmless');
    await w1.close();
    t.same(await io.notify('w', B('nobody')), { acks: [], timeouts: [] }, 'notify with no watchers');
    await io2.close();
    await other.shutdown();
  });

  poolTest(t, h, 'watching again after the last watch closed', async (t, { io }) => {
    await io.writeFull('again', B(''));
    for (let round = 0; round < 3; round++) {
      const w = await io.watch('again', () => B(`round ${round}`));
      const res = await io.notify('again', B('x'), 5000);
      t.same(res.acks.map((a) => a.reply.toString()), [`round ${round}`], `round ${round} notified`);
      await w.close();
    }
    const old = await io.watch('again', () => B('old'));
    const [, fresh] = await Promise.all([old.close(), io.watch('again', () => B('fresh'))]);
    const res = await io.notify('again', B('x'), 5000);
    t.same(res.acks.map((a) => a.reply.toString()), ['fresh'], 'a watch opened while the last one closes');
    await fresh.close();
  });

  poolTest(t, h, 'a watcher that does not answer times out', async (t, { io }) => {
    await io.writeFull('slow', B(''));
    let release!: () => void;
    const hung = new Promise<void>((r) => (release = r));
    const slow = await io.watch('slow', async () => {
      await hung;
      return B('late');
    });
    const fast = await io.watch('slow', () => B('fast'));
    const res = await io.notify('slow', B('x'), 300);
    t.same(res.acks.map((a) => [a.cookie, a.reply.toString()]), [[fast.cookie, 'fast']], 'the fast one acked');
    t.same(res.timeouts.map((x) => x.cookie), [slow.cookie], 'the slow one timed out');
    release();
    await slow.close();
    await fast.close();
  });

  poolTest(t, h, 'watch, notify and listWatchers need the object', async (t, { io }) => {
    await rejectsWith(t, io.watch('none', () => undefined), 'ENOENT', 'ERR_OBJECT_NOT_FOUND');
    await rejectsWith(t, io.notify('none', B('x')), 'ENOENT', 'ERR_OBJECT_NOT_FOUND');
    await rejectsWith(t, io.listWatchers('none'), 'ENOENT', 'ERR_OBJECT_NOT_FOUND');
  });

  poolTest(t, h, 'removing the object ends its watches with an error', async (t, { io }) => {
    await io.writeFull('doomed', B(''));
    let onError!: (e: Error) => void;
    const lost = new Promise<Error>((resolve) => (onError = resolve));
    await io.watch('doomed', () => undefined, onError);
    await io.remove('doomed');
    const e = await lost;
    t.ok(e instanceof Error, `onError called: ${e.message}`);
    await io.writeFull('doomed', B(''));
    t.same(await io.listWatchers('doomed'), [], 'the re-created object has no watchers');
  });

  poolTest(t, h, 'watch/notify across processes; a dead watcher is dropped', { timeout: 60_000 }, async (t, { h, pool, io }) => {
    await io.writeFull('x', B(''));
    const child = h.spawnClient('watcher', [pool, 'x']);
    const out = new ChildLines(child);
    t.teardown(() => void child.kill('SIGKILL'));
    const [, instanceId, cookie] = (await out.waitFor(/^ready /)).split(' ');
    const res = await io.notify('x', B('ping'), 10_000);
    t.same(res.acks, [{ instanceId, cookie, reply: B('reply:ping') }], 'the other process acked with its reply');
    await out.waitFor(/^notified ping$/);

    child.kill('SIGSTOP');
    const stopped = await io.notify('x', B('stopped'), 500);
    t.same(stopped.acks, [], 'a stopped process does not ack');
    // The contract allows either: listed in timeouts and still watching (embedded), or its
    // watch dropped for failing to ack (Ceph 16.2's OSD does this) and in neither list.
    const timedOut = stopped.timeouts.length > 0;
    if (timedOut) t.same(stopped.timeouts, [{ instanceId, cookie }], 'a stopped process times out');
    child.kill('SIGCONT');
    t.same((await io.listWatchers('x')).map((w) => w.instanceId), timedOut ? [instanceId] : [],
      timedOut ? 'still a watcher while alive' : 'its watch was dropped');

    child.kill('SIGKILL');
    await exited(child);
    // The long timeout is the point: a dead watcher must be dropped, not waited for (the
    // subtest's own timeout would fire first).
    const dead = await io.notify('x', B('anyone?'), 120_000);
    t.same(dead, { acks: [], timeouts: [] }, 'a dead watcher is neither acked nor timed out');
    t.same(await io.listWatchers('x'), [], 'and is pruned');
  });
}
