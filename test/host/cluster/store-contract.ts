/**
 * The Store contract suite: every operation of host/cluster/store.ts, run against a
 * backend. Each backend's test file calls `runStoreContract` with a way to open a harness
 * on a cluster it owns (the embedded one in a temp dir; the ceph one on a test cluster).
 *
 * @example
 *   t.test('embedded', (t) => runStoreContract(t, openEmbeddedHarness));
 */
import type { Test } from 'tap';
import type { OpenHarness, StoreHarness } from './contract-harness.js';
import { lockContract } from './contract-locks.js';
import { objectContract } from './contract-objects.js';
import { omapGuardContract } from './contract-omap-guards.js';
import { poolContract } from './contract-pools.js';
import { watchContract } from './contract-watch.js';

export type { OpenHarness, StoreHarness } from './contract-harness.js';

/** Registers the contract's subtests on `t`; one harness serves them all. */
export function runStoreContract(t: Test, open: OpenHarness): void {
  let harness: StoreHarness | undefined;
  const h = (): StoreHarness => {
    if (!harness) throw new Error('harness not open');
    return harness;
  };
  t.before(async () => {
    harness = await open();
  });
  t.teardown(async () => {
    await harness?.cleanup();
  });
  objectContract(t, h);
  omapGuardContract(t, h);
  poolContract(t, h);
  watchContract(t, h);
  lockContract(t, h);
}
