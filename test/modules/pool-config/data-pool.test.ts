// The seed's DATA POOLS rules, one by one, then through the service on a real destination.
import t from 'tap';
import { chooseDataPool, selectDataPool } from '../../../modules/pool-config/data-pool.js';
import { connectCluster } from '../../../host/cluster/connect.js';
import { twoClusters } from './support.js';

const pools = (...names: string[]) => (p: string) => names.includes(p);

t.test('rule 1: the destination default data pool wins', async (t) => {
  t.equal(await chooseDataPool({ destinationDefault: 'dst-data', sourceDataPool: 'data-pool', existsOnDestination: pools('data-pool', 'dst-data') }), 'dst-data');
  t.equal(await chooseDataPool({ destinationDefault: 'dst-data', sourceDataPool: undefined, existsOnDestination: pools() }), 'dst-data',
    'used as configured, even when it names no pool (creation then fails loudly)');
});

t.test("rule 2: else the source image's data pool, if the destination has a pool of that name", async (t) => {
  t.equal(await chooseDataPool({ destinationDefault: undefined, sourceDataPool: 'data-pool', existsOnDestination: pools('data-pool') }), 'data-pool');
  t.equal(await chooseDataPool({ destinationDefault: '', sourceDataPool: 'data-pool', existsOnDestination: pools('data-pool') }), 'data-pool',
    'an empty default is no default');
});

t.test('rule 3: else no data pool', async (t) => {
  t.equal(await chooseDataPool({ destinationDefault: undefined, sourceDataPool: 'data-pool', existsOnDestination: pools('other') }), undefined,
    'the source data pool does not exist on the destination');
  t.equal(await chooseDataPool({ destinationDefault: undefined, sourceDataPool: undefined, existsOnDestination: pools('data-pool') }), undefined,
    'the source image has no separate data pool');
});

t.test('against a real destination cluster and its conf', async (t) => {
  const two = await twoClusters(t, ['image-pool']);
  await two.rbdm('remote', ['pool', 'create', 'data-pool']);
  const remote = await connectCluster({ clusterName: 'remote', entity: 'client.admin', env: two.c.env });
  t.teardown(() => remote.shutdown());
  const conf = (v?: string) => ({ get: (k: string) => (k === 'rbd_default_data_pool' ? v : undefined) });
  t.equal(await selectDataPool(remote, 'data-pool', conf()), 'data-pool', 'rule 2 (183-189: same-named pool on both)');
  t.equal(await selectDataPool(remote, 'missing-pool', conf()), undefined, 'rule 3');
  t.equal(await selectDataPool(remote, 'data-pool', conf('image-pool')), 'image-pool', 'rule 1 (190)');
});
