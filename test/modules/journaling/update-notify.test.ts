// The journal wakes its header's watchers after appends and commits (what the mirror daemon's
// replayer waits on), coalesced: far fewer notifies than append batches under a busy
// writer, the last one never lost on close, none when the option is off.
import t from 'tap';
import { journalCluster, K, M } from './setup.js';
import { RUNTIME } from '../../../modules/journaling/runtime.js';

const FEATURES = 1 | 4 | 64; // layering, exclusive-lock, journaling

t.test('appends and commits notify the header watchers, coalesced; the last one is sent on close', async (t) => {
  const c = await journalCluster(t);
  const info = await c.lib.createImage(c.cluster, 'rbd', 'img', { size: 4 * M, features: FEATURES });
  const j = await c.journals.open(c.cluster, 'rbd', info.id);
  t.teardown(() => j.close());
  let heard = 0;
  const w = await j.watch(() => { heard++; });
  t.teardown(() => w.close());
  const img = await c.lib.openImage(c.cluster, 'rbd', 'img');
  // Sequential writes: one append batch each.
  for (let i = 0; i < 200; i++) await img.write((i % 1000) * 4 * K, Buffer.alloc(4 * K, i));
  const n = RUNTIME.stage.journalOf(img)!.journal.updates.stats;
  const batches = RUNTIME.stage.journalOf(img)!.recorder.stats.batches;
  await img.close();
  t.ok(n.sent >= 1, `notifies sent: ${n.sent}`);
  t.ok(n.sent < batches, `coalesced: ${n.sent} notifies for ${batches} append batches (${n.coalesced} pokes folded)`);
  const end = Date.now() + 10_000;
  while (heard < n.sent && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  t.equal(heard, n.sent, 'the watcher heard every notify sent, the last one included');
});

t.test('journal_notify_updates false: appends send no notify', async (t) => {
  const c = await journalCluster(t);
  await c.set({ journal_notify_updates: false });
  const info = await c.lib.createImage(c.cluster, 'rbd', 'img', { size: 4 * M, features: FEATURES });
  const j = await c.journals.open(c.cluster, 'rbd', info.id);
  t.teardown(() => j.close());
  let heard = 0;
  const w = await j.watch(() => { heard++; });
  t.teardown(() => w.close());
  const img = await c.lib.openImage(c.cluster, 'rbd', 'img');
  for (let i = 0; i < 20; i++) await img.write(i * 4 * K, Buffer.alloc(4 * K, i));
  const n = RUNTIME.stage.journalOf(img)!.journal.updates.stats;
  await img.close();
  await new Promise((r) => setTimeout(r, 300));
  t.equal(n.sent, 0, 'nothing sent');
  t.equal(heard, 0, 'nothing heard');
});

t.test('bad option value is refused and changes nothing', async (t) => {
  const c = await journalCluster(t);
  await t.rejects(c.set({ journal_notify_updates: 'maybe' }), { errno: 'EINVAL', message: /journal_notify_updates/ });
});
