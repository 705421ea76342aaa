/**
 * The host's own state in the cluster, as ceph-mgr keeps it in the mons: which modules are
 * enabled and module option values. It lives in the `.mgr` pool (Ceph's pool for mgr
 * data), object `mgr_modules` (omap name → "1") and `mgr_config` (omap `module/option` →
 * JSON), so every CLI and daemon of the cluster sees the same set.
 */
import { HostError } from '../errors.js';
import type { Cluster, IoCtx } from '../cluster/store.js';

export const MGR_POOL = '.mgr';
const MODULES_OID = 'mgr_modules';
const CONFIG_OID = 'mgr_config';
/** Notified on every change, so daemons reload without polling. */
export const MGR_NOTIFY_OID = 'mgr_notify';

async function openMgrPool(cluster: Cluster, create: boolean): Promise<IoCtx | undefined> {
  try {
    return await cluster.ioctx(MGR_POOL);
  } catch (e) {
    if (!(e instanceof HostError) || e.errno !== 'ENOENT') throw e;
    if (!create) return undefined;
    try {
      await cluster.createPool(MGR_POOL);
    } catch (c) {
      if (!(c instanceof HostError) || c.errno !== 'EEXIST') throw c;
    }
    return cluster.ioctx(MGR_POOL);
  }
}

async function readAllOmap(io: IoCtx, oid: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  let after: string | undefined;
  for (;;) {
    let page;
    try {
      page = await io.omapGetVals(oid, { ...(after !== undefined ? { after } : {}), max: 512 });
    } catch (e) {
      if (e instanceof HostError && e.errno === 'ENOENT') return out;
      throw e;
    }
    for (const [k, v] of page.entries) {
      out.set(k, v);
      after = k;
    }
    if (!page.more) return out;
  }
}

export async function readEnabledModules(cluster: Cluster): Promise<Set<string>> {
  const io = await openMgrPool(cluster, false);
  if (!io) return new Set();
  return new Set((await readAllOmap(io, MODULES_OID)).keys());
}

export async function setModuleEnabled(cluster: Cluster, name: string, enabled: boolean): Promise<void> {
  const io = await openMgrPool(cluster, true);
  if (!io) return;
  if (enabled) await io.omapSet(MODULES_OID, new Map([[name, Buffer.from('1')]]));
  else await io.omapRemoveKeys(MODULES_OID, [name]).catch(ignoreEnoent);
  await notifyMgr(io);
}

export async function readModuleOptions(cluster: Cluster): Promise<Map<string, unknown>> {
  const io = await openMgrPool(cluster, false);
  const out = new Map<string, unknown>();
  if (!io) return out;
  for (const [k, v] of await readAllOmap(io, CONFIG_OID)) out.set(k, JSON.parse(v.toString('utf8')));
  return out;
}

export async function writeModuleOption(cluster: Cluster, key: string, value: unknown): Promise<void> {
  const io = await openMgrPool(cluster, true);
  if (!io) return;
  if (value === undefined) await io.omapRemoveKeys(CONFIG_OID, [key]).catch(ignoreEnoent);
  else await io.omapSet(CONFIG_OID, new Map([[key, Buffer.from(JSON.stringify(value))]]));
  await notifyMgr(io);
}

async function notifyMgr(io: IoCtx): Promise<void> {
  // Writing the object first makes it exist so daemons can watch it.
  await io.operate(MGR_NOTIFY_OID, { steps: [{ op: 'create', exclusive: false }] });
  await io.notify(MGR_NOTIFY_OID, Buffer.from('changed'), 2000);
}

function ignoreEnoent(e: unknown): void {
  if (!(e instanceof HostError) || e.errno !== 'ENOENT') throw e;
}
