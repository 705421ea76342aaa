/**
 * Which data pool a replica gets on the destination cluster: the seed's DATA POOLS rules,
 * exactly (rbd-mirror's, per doc/rbd/rbd-mirroring.rst).
 */
import type { Cluster, ConfView } from '../../host/index.js';

export interface DataPoolInputs {
  /** `rbd default data pool` of the destination's conf, if set. */
  destinationDefault: string | undefined;
  /** The source image's separate data pool, if it has one. */
  sourceDataPool: string | undefined;
  /** Whether a pool of this name exists on the destination. */
  existsOnDestination(pool: string): boolean | Promise<boolean>;
}

/**
 * 1. the destination's configured default data pool (used as is, like rbd-mirror: a default
 *    naming a missing pool makes the replica's creation fail loudly rather than silently
 *    placing data elsewhere);
 * 2. else the source image's data pool, if the destination has a pool of that name;
 * 3. else none (data objects go to the image's pool).
 */
export async function chooseDataPool(i: DataPoolInputs): Promise<string | undefined> {
  if (i.destinationDefault !== undefined && i.destinationDefault !== '') return i.destinationDefault;
  if (i.sourceDataPool !== undefined && i.sourceDataPool !== '' && (await i.existsOnDestination(i.sourceDataPool))) {
    return i.sourceDataPool;
  }
  return undefined;
}

export async function selectDataPool(destination: Cluster, sourceDataPool: string | undefined, destinationConf: Pick<ConfView, 'get'>): Promise<string | undefined> {
  return chooseDataPool({
    destinationDefault: destinationConf.get('rbd_default_data_pool'),
    sourceDataPool,
    existsOnDestination: async (name) => (await destination.listPools()).some((p) => p.name === name),
  });
}
