/**
 * Connects to a cluster by name, as `rbd --cluster NAME --id X` does: read `NAME.conf`, find
 * the entity's keyring, pick the backend named by the conf (`backend = embedded|ceph`,
 * default embedded) and authenticate.
 */
import { err } from '../errors.js';
import type { ConfView } from './conf-view.js';
import { loadConf } from './conf.js';
import { readKeyringFor, resolveKeyringPath } from './keyring.js';
import type { Backend, Cluster, ConfSections } from './store.js';

export interface ClusterAddress {
  clusterName: string;
  /** `--conf PATH`; else `$RBDM_CONF_DIR/NAME.conf`. */
  confPath?: string;
  /** e.g. `client.admin`. */
  entity: string;
  /** `--keyring PATH`. */
  keyringPath?: string;
  env?: NodeJS.ProcessEnv;
}

export interface LoadedConf {
  view: ConfView;
  sections: ConfSections;
}

export async function loadBackend(name: string): Promise<Backend> {
  switch (name) {
    case 'embedded':
      return (await import('./embedded/index.js')).embeddedBackend;
    case 'ceph':
      try {
        return (await import('./ceph/index.js')).cephBackend;
      } catch (e) {
        // The addon is optional (built only where librados-dev was installed).
        const why = e instanceof Error ? e.message.split('\n')[0] : String(e);
        throw err('ERR_BACKEND_UNAVAILABLE',
          `backend 'ceph' is not available: the ceph-napi librados addon cannot be loaded (${why}); install librados-dev and run 'npm rebuild ceph-napi', or use backend = embedded`,
          { cause: e });
      }
    default:
      throw err('ERR_CONF', `unknown backend '${name}' in the conf: expected 'embedded' or 'ceph'`);
  }
}

export async function connectCluster(addr: ClusterAddress, loaded?: LoadedConf): Promise<Cluster> {
  const conf = loaded ?? (await loadConf({
    clusterName: addr.clusterName,
    entity: addr.entity,
    ...(addr.confPath !== undefined ? { confPath: addr.confPath } : {}),
    ...(addr.env !== undefined ? { env: addr.env } : {}),
  }));
  const confKeyring = conf.view.get('keyring');
  const keyringPath = resolveKeyringPath({
    confDir: conf.view.dir,
    clusterName: addr.clusterName,
    entity: addr.entity,
    ...(addr.keyringPath !== undefined ? { keyringOpt: addr.keyringPath } : {}),
    ...(confKeyring !== undefined ? { confKeyring } : {}),
  });
  const { key } = await readKeyringFor({ path: keyringPath, entity: addr.entity });
  const backend = await loadBackend(conf.view.get('backend') ?? 'embedded');
  return backend.connect({
    clusterName: addr.clusterName,
    conf: conf.sections,
    confPath: conf.view.path,
    entity: addr.entity,
    key,
  });
}
