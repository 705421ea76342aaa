/**
 * The ceph backend: the Store on a real Ceph cluster through librados (the ceph-napi
 * addon). An rbdm cluster conf selects it with
 *
 *   [global]
 *   backend = ceph
 *   ceph conf = /etc/ceph/ceph.conf
 *   ceph keyring = /etc/ceph/ceph.client.rbdm.keyring   # optional
 *
 * Importing this module fails when the addon is not built; connect.ts turns that into
 * ERR_BACKEND_UNAVAILABLE.
 */
import { basename } from 'node:path';
import { Rados } from 'ceph-napi';
import { err, HostError } from '../../errors.js';
import type { Backend, Cluster, ConnectOptions } from '../store.js';
import { CephCluster } from './cluster.js';
import { errnoOf } from './errors.js';

const DEFAULT_WATCH_TIMEOUT_S = 10;
const DEFAULT_CONNECT_TIMEOUT_S = 30;

function positive(global: Record<string, string>, key: string, dflt: number, confPath: string): number {
  const raw = global[key];
  if (raw === undefined) return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw err('ERR_CONF', `bad '${key.replace(/_/g, ' ')} = ${raw}' in ${confPath}: a positive integer (seconds): (2) No such file or directory`);
  return n;
}

async function connect(opts: ConnectOptions): Promise<Cluster> {
  const global = opts.conf['global'] ?? {};
  const cephConf = global['ceph_conf'];
  if (!cephConf) {
    throw err('ERR_CONF', `no 'ceph conf' in [global] of ${opts.confPath || 'the conf'} (backend = ceph needs the path of a ceph.conf): (2) No such file or directory`);
  }
  // The Ceph cluster name drives $cluster in the ceph conf (e.g. keyring paths): as the
  // ceph tools do, NAME.conf means cluster NAME unless `ceph cluster` says otherwise.
  const cephCluster = global['ceph_cluster'] ?? (basename(cephConf).replace(/\.conf$/, '') || 'ceph');
  const watchTimeoutS = positive(global, 'ceph_watch_timeout', DEFAULT_WATCH_TIMEOUT_S, opts.confPath);
  const connectTimeoutS = positive(global, 'ceph_connect_timeout', DEFAULT_CONNECT_TIMEOUT_S, opts.confPath);
  const rados = new Rados(cephCluster, opts.entity);
  try {
    rados.confReadFile(cephConf);
    const keyring = global['ceph_keyring'];
    if (keyring) rados.confSet('keyring', keyring);
    else if (opts.key) rados.confSet('key', opts.key);
    rados.confSet('client_mount_timeout', String(connectTimeoutS));
    // rbdm reports errors itself; a client admin socket would collide between processes.
    rados.confSet('err_to_stderr', 'false');
    rados.confSet('log_to_stderr', 'false');
    rados.confSet('admin_socket', '');
  } catch (e) {
    await rados.shutdown().catch(() => undefined);
    throw err('ERR_CONF', `cannot use ceph conf '${cephConf}': ${(e as Error).message}: (2) No such file or directory`, { cause: e });
  }
  try {
    await rados.connect();
  } catch (e) {
    await rados.shutdown().catch(() => undefined);
    const code = errnoOf(e);
    if (code === 'EACCES' || code === 'EPERM') {
      throw err('ERR_AUTH', `authentication error connecting to ceph as ${opts.entity}: (13) Permission denied`, { cause: e });
    }
    throw new HostError('ERR_CEPH_CONNECT', code === 'ETIMEDOUT' ? 'ETIMEDOUT' : 'ECONNREFUSED',
      `cannot connect to the ceph cluster of ${cephConf} as ${opts.entity}: ${(e as Error).message}`, { cause: e });
  }
  const fsid = rados.fsid();
  const want = global['fsid'];
  if (want !== undefined && want.toLowerCase() !== fsid.toLowerCase()) {
    await rados.shutdown().catch(() => undefined);
    throw err('ERR_CONF', `'${cephConf}' reaches cluster ${fsid}, the conf says ${want}: (2) No such file or directory`);
  }
  return new CephCluster(rados, { fsid, entity: opts.entity, instanceId: rados.instanceId(), watchTimeoutS });
}

export const cephBackend: Backend = { name: 'ceph', connect };
