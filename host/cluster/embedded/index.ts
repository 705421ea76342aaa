/**
 * The embedded backend: a RADOS-like object store in a local data directory, no server.
 * Any number of processes may connect to the same directory at once; SQLite (WAL) keeps it
 * consistent and Unix sockets carry watch/notify between them.
 */
import { err } from '../../errors.js';
import type { Backend, Cluster, ConnectOptions } from '../store.js';
import { authenticate } from './auth-admin.js';
import { isCephxKey } from './cephx-key.js';
import { EmbeddedCluster } from './cluster.js';
import { createClusterDb, DEFAULT_CHUNK_SIZE, metaGet, MIN_CHUNK_SIZE, openClusterDb } from './sqlite-schema.js';

export { generateCephxKey } from './cephx-key.js';

/** The caps `cluster create` gives `client.admin`. */
export const ADMIN_CAPS: Readonly<Record<string, string>> = { mon: 'allow *', osd: 'allow *', mgr: 'allow *' };

const MAX_CHUNK_SIZE = 4 * 1024 * 1024;

export interface CreateEmbeddedClusterOptions {
  fsid: string;
  /** The secret of `client.admin` (see generateCephxKey). */
  adminKey: string;
  /** Bytes per data chunk row, a power of two; fixed for the cluster's life. For benchmarks. */
  chunkSize?: number;
}

/** Creates a cluster store in `dataDir` (made if missing); EEXIST if one is already there. */
export async function createEmbeddedCluster(dataDir: string, opts: CreateEmbeddedClusterOptions): Promise<void> {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(opts.fsid)) {
    throw err('ERR_INVALID_ARGUMENT', `bad fsid '${opts.fsid}' (expected a uuid): (22) Invalid argument`);
  }
  if (!isCephxKey(opts.adminKey)) {
    throw err('ERR_INVALID_ARGUMENT', 'bad admin key (expected a base64 cephx secret): (22) Invalid argument');
  }
  const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
  if (!Number.isInteger(chunkSize) || chunkSize < MIN_CHUNK_SIZE || chunkSize > MAX_CHUNK_SIZE || (chunkSize & (chunkSize - 1)) !== 0) {
    throw err('ERR_INVALID_ARGUMENT', `bad chunk size ${chunkSize} (a power of two, ${MIN_CHUNK_SIZE}..${MAX_CHUNK_SIZE}): (22) Invalid argument`);
  }
  createClusterDb(dataDir, {
    fsid: opts.fsid.toLowerCase(),
    chunkSize,
    admin: { entity: 'client.admin', key: opts.adminKey, caps: { ...ADMIN_CAPS } },
  });
}

async function connect(opts: ConnectOptions): Promise<Cluster> {
  const global = opts.conf['global'] ?? {};
  const dataDir = global['data_dir'];
  if (!dataDir) {
    throw err('ERR_CONF', `no 'data dir' in [global] of ${opts.confPath || 'the conf'}: (2) No such file or directory`);
  }
  const db = openClusterDb(dataDir);
  try {
    const fsid = String(metaGet(db, 'fsid'));
    const want = global['fsid'];
    if (want !== undefined && want.toLowerCase() !== fsid) {
      throw err('ERR_CONF', `'${dataDir}' holds cluster ${fsid}, the conf says ${want}: (2) No such file or directory`);
    }
    const { caps } = authenticate(db, opts.entity, opts.key);
    // Like a Ceph global id: one per connection, from a counter that never goes back.
    const row = db.prepare("UPDATE meta SET value = value + 1 WHERE key = 'last_instance' RETURNING value").get() as { value: number };
    return new EmbeddedCluster(db, {
      fsid,
      entity: opts.entity,
      instanceId: String(row.value),
      caps,
      chunkSize: Number(metaGet(db, 'chunk_size')),
    }, { clusterName: opts.clusterName, conf: opts.conf, confPath: opts.confPath, entity: opts.entity, key: opts.key });
  } catch (e) {
    db.close();
    throw e;
  }
}

export const embeddedBackend: Backend = { name: 'embedded', connect };
