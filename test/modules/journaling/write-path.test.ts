// The journaling stage on a real Host and embedded cluster: entries before applies, group
// commit, order under concurrent overlapping writers (image == replay of its journal),
// trimming behind the slowest client, disconnect with the health warning, and journaling
// enabled/disabled on a live image.
import t from 'tap';
import { HEALTH_CHECK } from '../../../modules/journaling/journal-health.js';
import { RUNTIME } from '../../../modules/journaling/runtime.js';
import { journalCluster, K, M, replayInto } from './setup.js';

const FEATURES = 1 | 4 | 64; // layering, exclusive-lock, journaling

t.test('concurrent overlapping writers: one group-committed stream, image equals its journal replay', async (t) => {
  const c = await journalCluster(t);
  const info = await c.lib.createImage(c.cluster, 'rbd', 'img', { size: 4 * M, features: FEATURES });
  const img = await c.lib.openImage(c.cluster, 'rbd', 'img');
  // Rounds of 50 concurrent overlapping 4 KiB writes at 2 KiB steps, a discard between
  // rounds (a discard racing 50 writers on one object can exhaust rbd's guard retries).
  for (let round = 0; round < 8; round++) {
    const writes: Array<Promise<void>> = [];
    for (let k = 0; k < 50; k++) {
      const i = round * 50 + k;
      writes.push(img.write(((i * 7919) % 64) * 2 * K, Buffer.alloc(4 * K, i % 251)));
    }
    await Promise.all(writes);
    await img.discard(((round * 31) % 60) * 4 * K, 8 * K);
  }
  const recorder = RUNTIME.stage.journalOf(img)!.recorder;
  t.ok(recorder.stats.batches < recorder.stats.entries / 4, `group commit: ${recorder.stats.entries} entries in ${recorder.stats.batches} batches`);
  const data = await img.read(0, 4 * M);
  await img.close();
  const j = await c.journals.open(c.cluster, 'rbd', info.id);
  t.teardown(() => j.close());
  const r = await j.read(undefined);
  t.equal(r.entries.length, 400 + 8, 'every write and discard');
  t.same(r.corrupt, []);
  t.ok(replayInto(4 * M, r.entries).equals(data), 'the image equals a replay of its journal');
  const meta = await j.metadata();
  t.same(meta.clients[0]!.commitPosition[0], { objectNumber: r.entries.at(-1)!.objectNumber, tagTid: 1, entryTid: r.entries.at(-1)!.entryTid },
    'the image client committed up to the last entry on close');
});

t.test('big writes split at 16 KiB; resize and feature changes are journaled', async (t) => {
  const c = await journalCluster(t);
  const info = await c.lib.createImage(c.cluster, 'rbd', 'img', { size: M, features: FEATURES });
  const img = await c.lib.openImage(c.cluster, 'rbd', 'img');
  await img.write(K, Buffer.alloc(100 * K, 9));
  await img.resize(2 * M);
  await img.updateFeatures(8, true);
  await img.close();
  const j = await c.journals.open(c.cluster, 'rbd', info.id);
  t.teardown(() => j.close());
  const types = (await j.read(undefined)).entries.map((e) => `${e.event.type}${e.event.type === 'write' ? `:${String(e.event.length)}` : ''}`);
  t.same(types, ['write:16384', 'write:16384', 'write:16384', 'write:16384', 'write:16384', 'write:16384', 'write:4096', 'resize', 'update_features']);
});

t.test('trimming behind the slowest client; a stalled peer is disconnected with a health warning', async (t) => {
  const c = await journalCluster(t);
  await c.set({ journal_order: 12, journal_splay_width: 2, journal_commit_age: 3600 });
  const info = await c.lib.createImage(c.cluster, 'rbd', 'img', { size: 4 * M, features: FEATURES });
  const j = await c.journals.open(c.cluster, 'rbd', info.id);
  t.teardown(() => j.close());
  await j.registerClient('peer-uuid-1', { type: 'mirror_peer' });
  const img = await c.lib.openImage(c.cluster, 'rbd', 'img');
  for (let i = 0; i < 40; i++) await img.write(i * 4 * K, Buffer.alloc(3 * K, i + 1));
  await img.flush();
  let meta = await j.metadata();
  t.ok(meta.activeSet >= 10, `4 KiB objects fill: active set ${meta.activeSet}`);
  t.equal(meta.minimumSet, 0, 'a connected peer without a position pins everything');
  // The peer catches up to the 10th entry: sets before its set go.
  const { entries } = await j.read(undefined);
  const tenth = entries[10]!;
  await j.commit('peer-uuid-1', [{ objectNumber: tenth.objectNumber, tagTid: tenth.tagTid, entryTid: tenth.entryTid }]);
  await img.flush();
  meta = await j.metadata();
  t.equal(meta.minimumSet, Math.floor(tenth.objectNumber / 2), 'trimmed up to the peer\'s set');
  const left = await c.journals.open(c.cluster, 'rbd', info.id);
  t.teardown(() => left.close());
  t.same((await left.read(undefined)).entries[0]?.entryTid !== undefined, true);
  t.same(c.host.health(), {}, 'no warning while the peer is connected');
  // Now a bound of 2 object sets: the peer is far behind and gets disconnected.
  await c.set({ journal_max_concurrent_object_sets: 2 });
  for (let i = 0; i < 20; i++) await img.write(i * 4 * K, Buffer.alloc(3 * K, 0x55));
  await img.flush();
  meta = await j.metadata();
  t.equal(meta.clients.find((x) => x.id === 'peer-uuid-1')?.state, 'disconnected');
  t.ok(meta.minimumSet >= meta.activeSet - 1, `trimmed to the image's own position (min ${meta.minimumSet}, active ${meta.activeSet})`);
  const h = c.host.health()[HEALTH_CHECK];
  t.match(h, { severity: 'warning', count: 1, module: 'journaling' });
  t.match(h?.detail[0], /image rbd\/img: journal client peer-uuid-1 \(mirror peer\) is disconnected/);
  await img.close();
  const r = await c.run('journal status', { image_spec: 'img' });
  t.match(r.stdout.toString(), /\[id=peer-uuid-1, commit_position=\[positions=\[\[object_number=\d+, tag_tid=1, entry_tid=10\]\]\], state=disconnected\]/);
});

t.test('journaling enabled and disabled on a live image; create and remove carry the journal', async (t) => {
  const c = await journalCluster(t);
  const info = await c.lib.createImage(c.cluster, 'rbd', 'live', { size: M, features: 1 | 4 });
  const img = await c.lib.openImage(c.cluster, 'rbd', 'live');
  await img.write(0, Buffer.from('before'));
  await t.rejects(c.journals.open(c.cluster, 'rbd', info.id), { code: 'ERR_JOURNAL_NOT_FOUND' });
  await img.updateFeatures(64, true);
  await img.write(100, Buffer.from('after'));
  const j = await c.journals.open(c.cluster, 'rbd', info.id);
  t.teardown(() => j.close());
  t.same((await j.read(undefined)).entries.map((e) => [e.event.type, e.event.offset]), [['write', 100]], 'writes after the enable are journaled');
  await j.registerClient('peer-a');
  await t.rejects(img.updateFeatures(64, false), { errno: 'EBUSY', message: /mirror peer client\(s\) peer-a still registered/ });
  t.equal((await img.refresh()).features & 64, 64, 'refused: still journaled');
  await img.write(200, Buffer.from('still'));
  t.equal((await j.read(undefined)).entries.length, 2, 'and still journaling');
  let r = await c.run('journal client disconnect', { image_spec: 'live', client_id: 'peer-a' });
  await img.updateFeatures(64, false);
  t.equal((await img.refresh()).features & 64, 0);
  await t.rejects(c.journals.open(c.cluster, 'rbd', info.id), { code: 'ERR_JOURNAL_NOT_FOUND' }, 'journal removed');
  await img.write(300, Buffer.from('plain'));
  t.equal((await img.read(0, 6)).toString(), 'before');
  await img.close();
  const objects = async () => {
    const io = await c.cluster.ioctx('rbd');
    const out: string[] = [];
    for await (const o of io.listObjects({ prefix: 'journal' })) out.push(o);
    await io.close();
    return out.sort();
  };
  t.same(await objects(), [], 'no journal objects left');
  r = await c.run('create', { image_spec: 'j2', size: '1M', image_feature: ['exclusive-lock,journaling'] });
  const id2 = (await c.lib.openImage(c.cluster, 'rbd', 'j2', { readOnly: true }).then(async (i) => { await i.close(); return i.id; }));
  t.same(await objects(), [`journal.${id2}`], 'create with journaling creates the journal');
  r = await c.run('bench', { image_spec: 'j2', io_type: 'write', io_total: '64K' });
  t.ok((await objects()).length > 1, 'data objects');
  r = await c.run('rm', { image_spec: 'j2' });
  t.same(await objects(), [], 'rm removes the journal');
  void r;
});

t.test('a journal pool option puts data objects elsewhere', async (t) => {
  const c = await journalCluster(t, ['rbd', 'jpool']);
  await c.set({ journal_pool: 'jpool' });
  const info = await c.lib.createImage(c.cluster, 'rbd', 'img', { size: M, features: FEATURES });
  const img = await c.lib.openImage(c.cluster, 'rbd', 'img');
  await img.write(0, Buffer.from('x'));
  await img.close();
  const r = await c.run('journal info', { image_spec: 'img' }, { format: 'json' });
  const jpool = await c.cluster.lookupPool('jpool');
  t.same(r.result, { journal_id: info.id, header_oid: `journal.${info.id}`, object_oid_prefix: `journal_data.${jpool.id}.${info.id}.`, order: 24, splay_width: 4, object_pool: 'jpool' });
  const io = await c.cluster.ioctx('jpool');
  t.teardown(() => io.close());
  t.ok((await io.stat(`journal_data.${jpool.id}.${info.id}.0`)).size > 0);
});

t.test('inspect finds a corrupted entry; replay never applies it', async (t) => {
  const c = await journalCluster(t);
  const info = await c.lib.createImage(c.cluster, 'rbd', 'img', { size: M, features: FEATURES });
  const img = await c.lib.openImage(c.cluster, 'rbd', 'img');
  for (let i = 0; i < 8; i++) await img.write(i * 4 * K, Buffer.alloc(4 * K, i + 1));
  await img.close();
  const io = await c.cluster.ioctx('rbd');
  t.teardown(() => io.close());
  const oid = `journal_data.${io.poolId}.${info.id}.1`;
  const bytes = await io.read(oid);
  bytes[100] = bytes[100]! ^ 0xff; // inside the payload of object 1's first entry
  await io.writeFull(oid, bytes);
  const r = await c.run('journal inspect', { image_spec: 'img', verbose: true });
  t.match(r.stdout.toString(), /corrupt entry at object 1 offset 0 \(tag_tid=1, entry_tid=1\): CRC32C mismatch/);
  t.match(r.stdout.toString(), /Entry: tag_id=1, commit_tid=0\n/);
  t.match(r.stdout.toString(), /Summary:\n  8 entries inspected\n  1 errors\n$/);
  t.match(r.result, { errors: 1, corrupt_entries: [{ object_number: 1, offset: 0, tag_tid: 1, entry_tid: 1, error: 'CRC32C mismatch' }] });
  const j = await c.journals.open(c.cluster, 'rbd', info.id);
  t.teardown(() => j.close());
  const read = await j.read(undefined);
  t.same(read.entries.map((e) => e.entryTid), [0], 'a reader stops at the corrupt entry: the rest of that tag is never replayed');
  t.same(read.skipped.map((e) => e.entryTid), [2, 3, 4, 5, 6, 7]);
});
