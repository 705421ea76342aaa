// The daemon's module-change watch retries every `retryMs` while the `.mgr` pool is missing
// (nothing was ever enabled): each retry must leave no abort listener behind on the
// daemon's signal (they used to pile up: MaxListenersExceededWarning after 50 s).
import t from 'tap';
import { getEventListeners } from 'node:events';
import { TestClusters } from '../../harness/cli.js';
import { Host } from '../../../host/runtime/host.js';
import { watchModuleChanges } from '../../../host/runtime/module-change-watch.js';

t.test('retrying without a .mgr pool leaks no abort listeners', async (t) => {
  const c = new TestClusters('rbdm-mcw-');
  t.teardown(() => c.cleanup());
  await c.create('local');
  const host = new Host({ clusterName: 'local', entity: 'client.admin', env: { ...process.env, ...c.env } });
  await host.init();
  t.teardown(() => host.shutdown());
  const io = await (await host.cluster()).listPools();
  t.notOk(io.some((p) => p.name === '.mgr'), 'a fresh cluster has no .mgr pool: the watch retries');
  const stop = new AbortController();
  const watching = watchModuleChanges(host, stop.signal, 5);
  let most = 0;
  for (let i = 0; i < 40; i++) {
    await new Promise((r) => setTimeout(r, 10));
    most = Math.max(most, getEventListeners(stop.signal, 'abort').length);
  }
  t.ok(most <= 1, `at most one abort listener at a time (saw ${most})`);
  stop.abort();
  await watching;
  t.equal(getEventListeners(stop.signal, 'abort').length, 0, 'none left after stop');
});
