// IoOrder on its own: which events wait for which, with hundreds in flight (a replayed
// batch, an NBD queue), in the order they left.
import t from 'tap';
import { IoOrder } from '../../../modules/journaling/io-order.js';
import type { WriteEvent } from '../../../modules/rbd/api.js';

const write = (offset: number, length: number): WriteEvent => ({ type: 'write', offset, length, data: new Uint8Array(length) });
const settled = async (p: Promise<void>) => {
  let done = false;
  void p.then(() => (done = true));
  for (let i = 0; i < 5; i++) await Promise.resolve();
  return done;
};

t.test('non-overlapping writes go at once; an overlapping one waits for exactly the ones it overlaps', async (t) => {
  const o = new IoOrder();
  const a = o.enter(write(0, 4096));
  const b = o.enter(write(8192, 4096));
  t.ok(await settled(a.ready), 'first write is ready');
  t.ok(await settled(b.ready), 'a disjoint write is ready beside it');
  const c = o.enter(write(4000, 4500)); // overlaps both
  const d = o.enter(write(4096, 4096)); // adjacent to a and b: no overlap, but overlaps c
  t.notOk(await settled(c.ready), 'an overlapping write waits');
  a.leave();
  t.notOk(await settled(c.ready), 'it still waits for the other one it overlaps');
  b.leave();
  t.ok(await settled(c.ready), 'ready once both left');
  t.notOk(await settled(d.ready), 'the adjacent write waits for the one it overlaps (entered before it)');
  c.leave();
  t.ok(await settled(d.ready));
  d.leave();
  t.ok(await settled(o.idle()), 'idle when everything left');
});

t.test('a barrier waits for everything before it and holds back everything after it', async (t) => {
  const o = new IoOrder();
  const w = Array.from({ length: 500 }, (_, i) => o.enter(write(i * 4096, 4096)));
  const flush = o.enter({ type: 'flush' });
  const after = o.enter(write(10 * 1024 * 1024, 4096));
  t.ok((await Promise.all(w.map((x) => settled(x.ready)))).every(Boolean), '500 disjoint writes are ready at once');
  t.notOk(await settled(flush.ready), 'the flush waits for 500 writes');
  const idle = o.idle();
  for (const x of w.slice(0, 499)) x.leave();
  t.notOk(await settled(flush.ready), 'and for the last of them');
  w[499]!.leave();
  t.ok(await settled(flush.ready), 'ready once all left');
  t.notOk(await settled(after.ready), 'a later disjoint write waits behind the barrier');
  flush.leave();
  t.ok(await settled(after.ready));
  t.notOk(await settled(idle), 'idle() waits for what was in flight when it was called');
  after.leave();
  t.ok(await settled(idle));
});

t.test('leaving twice or out of order keeps the others consistent', async (t) => {
  const o = new IoOrder();
  const a = o.enter(write(0, 100));
  const b = o.enter(write(50, 100));
  const c = o.enter(write(120, 10));
  a.leave();
  a.leave();
  t.notOk(await settled(c.ready), 'c still waits for b');
  b.leave();
  t.ok(await settled(c.ready));
  c.leave();
  t.ok(await settled(o.idle()));
});
