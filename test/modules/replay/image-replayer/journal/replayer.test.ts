// The journal replayer's pure parts: entry → write-path event, and the commit position.
import t from 'tap';
import { advance, toWriteEvent } from '../../../../../modules/replay/image-replayer/journal/replayer.js';

const entry = (event: Record<string, unknown> & { type: string }, data?: Uint8Array) =>
  ({ tagTid: 1, entryTid: 0, objectNumber: 0, offset: 0, size: 0, event, ...(data ? { data } : {}) });

t.test('toWriteEvent', async (t) => {
  const data = new Uint8Array([1, 2, 3]);
  t.same(toWriteEvent(entry({ type: 'write', offset: 4096, length: 3 }, data)), { type: 'write', offset: 4096, length: 3, data });
  t.same(toWriteEvent(entry({ type: 'discard', offset: 0, length: 512 })), { type: 'discard', offset: 0, length: 512 });
  t.same(toWriteEvent(entry({ type: 'resize', size: 10, old_size: 5 })), { type: 'resize', size: 10, oldSize: 5 });
  t.same(toWriteEvent(entry({ type: 'update_features', features: 8, enabled: true, old_features: 4, new_features: 12 })),
    { type: 'update_features', features: 8, enabled: true, oldFeatures: 4, newFeatures: 12 });
  t.equal(toWriteEvent(entry({ type: 'flush' })), undefined, 'markers apply nothing');
  t.equal(toWriteEvent(entry({ type: 'demote' })), undefined);
  t.throws(() => toWriteEvent(entry({ type: 'snap_create' })), /snapshots/);
});

t.test('advance: one position per splay offset, most recent first', async (t) => {
  let p = advance([], { objectNumber: 0, tagTid: 1, entryTid: 0 }, 4);
  p = advance(p, { objectNumber: 1, tagTid: 1, entryTid: 1 }, 4);
  p = advance(p, { objectNumber: 4, tagTid: 1, entryTid: 2 }, 4);
  t.same(p, [{ objectNumber: 4, tagTid: 1, entryTid: 2 }, { objectNumber: 1, tagTid: 1, entryTid: 1 }]);
  t.same(advance(p, { objectNumber: 2, tagTid: 2, entryTid: 0 }, 1), [{ objectNumber: 2, tagTid: 2, entryTid: 0 }], 'splay width 1');
});
