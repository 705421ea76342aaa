// JournalCursor reads each journal object from where the last fetch stopped, with either
// fetcher: read here and decoded by a stand-in that gets the buffers by transfer (as the worker
// pool does), which detaches them in the caller: the cursor must still advance by the bytes it
// read (it once read 0 from detached buffers, re-reading whole objects every fetch, and went
// to a negative offset after a torn tail); or read and decoded in a real piscina worker over
// the worker's own connection (the embedded backend's `threadConnect`).
import t, { type Test } from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { embeddedBackend } from '../../../../host/cluster/embedded/index.js';
import { TestClusters } from '../../../harness/cli.js';
import { JournalsServiceImpl } from '../../../../modules/journaling/journals-service.js';
import { WorkerPool } from '../../../../host/runtime/worker-pool.js';
import { decodeObjects, JOURNAL_WORKER } from '../../../../modules/journaling/journal.worker.js';
import type { DecodeObjectsTask } from '../../../../modules/journaling/types.js';
import { JournalCursor } from '../../../../modules/replay/image-replayer/journal/journal-cursor.js';
import { mainThreadFetcher, workerFetcher, type Decoder, type Fetcher } from '../../../../modules/replay/image-replayer/journal/journal-fetch.js';
import type { JournalHandle } from '../../../../modules/journaling/journals-service.js';
import type { Cluster } from '../../../../host/cluster/store.js';

/** Decodes in this thread, but hands the buffers over exactly as a worker task would. */
const transferringDecoder: Decoder = async (task, transfer) =>
  decodeObjects(structuredClone(task, { transfer }) as DecodeObjectsTask);

const FETCHERS: Array<[string, (t: Test, j: JournalHandle, c: Cluster) => Fetcher]> = [
  ['read here, decoded with transferred buffers', (_t, j) => mainThreadFetcher(j, transferringDecoder)],
  ['read and decoded in a worker', (t, j, c) => {
    const pool = new WorkerPool({ maxThreads: 2 });
    t.teardown(() => pool.close());
    t.ok(c.threadConnect, 'an embedded connection says how a worker connects');
    return workerFetcher(j, c.threadConnect!, pool, JOURNAL_WORKER);
  }],
];

async function setUp(t: Test) {
  const c = new TestClusters('rbdm-cursor-');
  t.teardown(() => c.cleanup());
  await c.create('local');
  const ok = async (args: string[]) => {
    const r = await c.rbdm(['--cluster', 'local', ...args]);
    if (r.code !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}`);
  };
  await ok(['pool', 'create', 'p']);
  await ok(['create', 'p/img', '--size', '96M', '--image-feature', 'exclusive-lock,journaling']);

  const key = /key = (\S+)/.exec(readFileSync(join(c.dir, 'local.client.admin.keyring'), 'utf8'))![1]!;
  const cluster = await embeddedBackend.connect({
    clusterName: 'local', conf: { global: { data_dir: join(c.dir, 'local-data') } }, confPath: '', entity: 'client.admin', key,
  });
  t.teardown(() => cluster.shutdown());
  const io = await cluster.ioctx('p');
  const imageId = new TextDecoder().decode(await io.read('rbd_id.img', 0, 1 << 10));
  const journal = await new JournalsServiceImpl(() => { throw new Error('no write stage in this test'); }).open(cluster, 'p', imageId);
  t.teardown(() => journal.close());
  // A registered peer keeps the journal from being trimmed behind the image's own client.
  await journal.registerClient('cursor-test');
  return { ok, journal, cluster };
}

for (const [how, makeFetcher] of FETCHERS) {
  t.test(how, async (t) => {
    t.test('the cursor advances past what it decoded', async (t) => {
      const { ok, journal, cluster } = await setUp(t);
      await ok(['bench', 'p/img', '--io-type', 'write', '--io-size', '4K', '--io-total', '400K', '--io-pattern', 'rand']);
      const cursor = new JournalCursor(journal, makeFetcher(t, journal, cluster), []);
      t.equal(await cursor.fetch(), true, 'the first fetch finds the entries');
      const first = cursor.take(() => 'take');
      t.equal(first.filter((e) => e.event.type === 'write').length, 100, 'one write entry per 4 KiB write (plus the bench\'s flush markers)');
      const tids = first.map((e) => `${e.tagTid}.${e.entryTid}`);
      t.equal(new Set(tids).size, tids.length, 'each entry once');
      t.equal(await cursor.fetch(), false, 'a second fetch reads nothing again');

      await ok(['bench', 'p/img', '--io-type', 'write', '--io-size', '4K', '--io-total', '40K', '--io-pattern', 'rand']);
      t.equal(await cursor.fetch(), true, 'new appends are found');
      const more = cursor.take(() => 'take');
      t.equal(more.filter((e) => e.event.type === 'write').length, 10, 'only the new entries');
      t.notOk(more.some((e) => tids.includes(`${e.tagTid}.${e.entryTid}`)), 'none of the earlier ones again');
      t.equal(await cursor.fetch(), false, 'and nothing after them');
    });

    t.test('objects larger than one read, and a journal spanning two object sets', async (t) => {
      const { ok, journal, cluster } = await setUp(t);
      // 80 MiB of 1 MiB writes: 16 KiB entries, 16 MiB objects, splay 4: set 0 fills and set 1
      // begins; each fetch reads at most 16 MiB, so objects are read in several pieces.
      await ok(['bench', 'p/img', '--io-type', 'write', '--io-size', '1M', '--io-total', '80M', '--io-pattern', 'seq']);
      const meta = await journal.metadata();
      t.ok(meta.activeSet >= 1, `the journal reached set ${meta.activeSet}`);
      const cursor = new JournalCursor(journal, makeFetcher(t, journal, cluster), []);
      const seen = new Set<string>();
      let writes = 0;
      let fetches = 0;
      while (await cursor.fetch()) {
        fetches++;
        for (const e of cursor.take(() => 'take')) {
          seen.add(`${e.tagTid}.${e.entryTid}`);
          if (e.event.type === 'write') writes++;
        }
      }
      t.ok(fetches > 1, `read in several fetches (${fetches})`);
      t.equal(writes, 80 * 64, 'every 16 KiB piece of every 1 MiB write, once');
      t.equal(cursor.take(() => 'take').length, 0, 'nothing left pending');
    });
  });
}

t.test('a worker that cannot read the journal fails the fetch with the store\'s error', async (t) => {
  const { ok, journal, cluster } = await setUp(t);
  await ok(['bench', 'p/img', '--io-type', 'write', '--io-size', '4K', '--io-total', '40K', '--io-pattern', 'rand']);
  const pool = new WorkerPool({ maxThreads: 1 });
  t.teardown(() => pool.close());
  const elsewhere: JournalHandle = { ...journal, dataPool: 'no-such-pool' };
  const cursor = new JournalCursor(elsewhere, workerFetcher(elsewhere, cluster.threadConnect!, pool, JOURNAL_WORKER), []);
  await t.rejects(cursor.fetch(), { code: 'ERR_POOL_NOT_FOUND', message: /no-such-pool/ });
  const wrongKey = { ...cluster.threadConnect!, opts: { ...cluster.threadConnect!.opts, key: 'AQBx1nVmAAAAABAAaW52YWxpZGludmFsaWRrZXk=' }, instanceId: 'another' };
  await t.rejects(new JournalCursor(journal, workerFetcher(journal, wrongKey, pool, JOURNAL_WORKER), []).fetch(), { code: /^ERR_/ }, 'a connection the cluster refuses');
  const good = new JournalCursor(journal, workerFetcher(journal, cluster.threadConnect!, pool, JOURNAL_WORKER), []);
  t.equal(await good.fetch(), true, 'the same worker then reads with a good connection');
});
