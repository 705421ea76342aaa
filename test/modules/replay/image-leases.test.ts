// ImageLeases on a real embedded cluster, two connections as two daemons: shares of the
// live daemons, handing images over when a daemon joins, a stolen lease noticed as lost,
// and a clean stop handing everything over.
import t from 'tap';
import { connectCluster } from '../../../host/cluster/connect.js';
import type { Cluster } from '../../../host/cluster/store.js';
import { createLogger, NULL_SINK } from '../../../host/runtime/logger.js';
import { ImageLeases, imageLeaseOid, LEASE_MS } from '../../../modules/replay/image-leases.js';
import { TestClusters } from '../../harness/cli.js';

const GIDS = ['g1', 'g2', 'g3', 'g4'];
const log = createLogger(NULL_SINK);

async function waitFor(what: string, cond: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A daemon's view: its leases and, like the pool replayer, what it replays. */
class Daemon {
  readonly running = new Set<string>();
  changes = 0;
  readonly leases: ImageLeases;

  constructor(readonly cluster: Cluster, io: Awaited<ReturnType<Cluster['ioctx']>>) {
    this.leases = new ImageLeases({ io, instanceId: cluster.instanceId, entity: cluster.entity, log, onChange: () => void this.refresh() });
  }

  /** The pool replayer's part: replay what it may, stop the rest, then give leases back. */
  async refresh(): Promise<void> {
    this.changes++;
    for (const g of GIDS) if (this.leases.mayReplay(g)) this.running.add(g);
    for (const g of [...this.running]) if (!this.leases.mayReplay(g)) this.running.delete(g);
    await this.leases.releaseUnused(this.running);
  }
}

t.test('image leases: shares, hand-over on join, lost lease, clean stop', async (t) => {
  const c = new TestClusters();
  t.teardown(() => c.cleanup());
  await c.create('local');
  const r = await c.rbdm(['--cluster', 'local', 'pool', 'create', 'p']);
  t.equal(r.code, 0, r.stderr);
  const connect = async () => {
    const cl = await connectCluster({ clusterName: 'local', entity: 'client.admin', env: c.env });
    t.teardown(() => cl.shutdown());
    return new Daemon(cl, await cl.ioctx('p'));
  };
  const a = await connect();
  const b = await connect();
  t.not(a.cluster.instanceId, b.cluster.instanceId, 'two instances');

  await a.leases.start();
  a.leases.want(new Set(GIDS));
  await waitFor('a takes all four', () => a.running.size === 4);
  t.ok(a.leases.leader, 'a alone leads');
  t.same(a.leases.instances.instances, [a.cluster.instanceId]);

  await b.leases.start();
  b.leases.want(new Set(GIDS));
  await waitFor('two each', () => a.running.size === 2 && b.running.size === 2);
  t.same([...a.running, ...b.running].sort(), GIDS, 'each image replayed by exactly one');
  t.notOk(b.leases.leader, 'b does not lead');
  t.same(b.leases.instances, { instances: [a.cluster.instanceId, b.cluster.instanceId].sort(), leader: a.cluster.instanceId });
  const io = await a.cluster.ioctx('p');
  for (const g of GIDS) {
    const holder = (await io.getLockInfo(imageLeaseOid(g), 'rbd_mirror_image')).lockers.map((l) => l.instanceId);
    t.same(holder, [a.running.has(g) ? a.cluster.instanceId : b.cluster.instanceId], `${g}: the store agrees`);
  }

  // A third client breaks one of b's leases and takes it: b notices and stops replaying it.
  const stolen = [...b.running][0]!;
  const thief = await connectCluster({ clusterName: 'local', entity: 'client.admin', env: c.env });
  t.teardown(() => thief.shutdown());
  const tio = await thief.ioctx('p');
  await tio.breakLock(imageLeaseOid(stolen), 'rbd_mirror_image', b.cluster.instanceId, b.cluster.instanceId);
  await tio.lockExclusive(imageLeaseOid(stolen), 'rbd_mirror_image', 'thief', { durationMs: 60_000 });
  await waitFor('b drops the stolen image', () => !b.running.has(stolen));
  t.notOk(a.running.has(stolen), 'a does not take a held lease');
  await tio.unlock(imageLeaseOid(stolen), 'rbd_mirror_image', 'thief');
  await waitFor('someone replays it again once free', () => a.running.has(stolen) || b.running.has(stolen), 3 * LEASE_MS + 10_000);
  t.pass('a freed lease is taken again');

  // A clean stop releases at once: the other takes everything.
  await a.leases.stop();
  t.notOk(a.leases.leader, 'a no longer leads after stop');
  await waitFor('b takes all four', () => b.running.size === 4);
  await waitFor('b leads', () => b.leases.leader);
  t.same(b.leases.instances.instances, [b.cluster.instanceId], 'a is no longer live');
  await b.leases.stop();
  for (const g of GIDS) t.same((await io.getLockInfo(imageLeaseOid(g), 'rbd_mirror_image')).lockers, [], `${g}: released`);
});
