/**
 * Keeps a running daemon's module set in step with the cluster: watches `.mgr/mgr_notify`
 * (which `mgr module enable|disable` and `mgr config set` notify) and reloads the enabled
 * set on each cue, as ceph-mgr picks up `mgr module enable` without a restart. Until the
 * `.mgr` pool exists (nothing was ever enabled), it checks for it every `retryMs`.
 */
import { HostError } from '../errors.js';
import type { WatchHandle } from '../cluster/store.js';
import type { Host } from './host.js';
import { MGR_NOTIFY_OID, MGR_POOL } from './mgr-store.js';

export function watchModuleChanges(host: Host, signal: AbortSignal, retryMs = 5000): Promise<void> {
  let chain = Promise.resolve();
  const reload = () => {
    chain = chain
      .then(() => host.reloadEnabledModules())
      .then(() => undefined, (e) => host.log.error('module reload failed', e));
  };
  // Each sleep removes its abort listener when it ends: the retry loop runs for as long as
  // the `.mgr` pool is missing, and leaked listeners would pile up on the daemon's signal.
  const sleep = (ms: number) => new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
  return (async () => {
    let handle: WatchHandle | undefined;
    while (!signal.aborted && !handle) {
      try {
        const io = await (await host.cluster()).ioctx(MGR_POOL);
        await io.operate(MGR_NOTIFY_OID, { steps: [{ op: 'create', exclusive: false }] });
        handle = await io.watch(MGR_NOTIFY_OID, () => reload());
        reload(); // catch changes made before the watch was in place
      } catch (e) {
        if (!(e instanceof HostError && e.errno === 'ENOENT')) host.log.warn(`cannot watch module changes: ${(e as Error).message}`);
        await sleep(retryMs);
      }
    }
    if (!handle) return;
    await sleep(2 ** 31 - 1);
    await handle.close().catch(() => undefined);
    await chain;
  })();
}
