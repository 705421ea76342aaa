/**
 * One client connection to a Ceph cluster (`rados_t`): pools, ioctxs, auth, shutdown.
 */
import type { Rados } from 'ceph-napi';
import { err } from '../../errors.js';
import type { AuthAdmin, Cluster, IoCtx, PoolInfo } from '../store.js';
import { validatePoolName } from '../embedded/validate.js';
import { CephAuthAdmin } from './auth.js';
import { errnoOf, mapRadosError, poolNotFound, shutDown } from './errors.js';
import { CephIoCtx } from './ioctx.js';
import { Sessions } from './sessions.js';

export interface CephIdentity {
  fsid: string;
  entity: string;
  instanceId: string;
  /** Watch timeout in seconds: how long the OSD keeps the watch of a client that died. */
  watchTimeoutS: number;
}

export class CephCluster implements Cluster {
  readonly backend = 'ceph';
  readonly fsid: string;
  readonly entity: string;
  readonly instanceId: string;
  readonly watchTimeoutS: number;
  readonly auth: AuthAdmin;
  readonly sessions: Sessions;
  private readonly ioctxs = new Set<CephIoCtx>();
  private closed = false;

  constructor(readonly rados: Rados, id: CephIdentity) {
    this.fsid = id.fsid;
    this.entity = id.entity;
    this.instanceId = id.instanceId;
    this.watchTimeoutS = id.watchTimeoutS;
    this.auth = new CephAuthAdmin(() => {
      this.checkOpen();
      return rados;
    });
    this.sessions = new Sessions(rados);
  }

  /** Tells the ioctxs of this pool that `oid` was removed (their watches on it will end). */
  expectLoss(oid: string, poolId: number): void {
    for (const io of this.ioctxs) if (io.poolId === poolId) io.watches.expectLoss(oid);
  }

  checkOpen(): void {
    if (this.closed) throw shutDown();
  }

  async createPool(name: string): Promise<PoolInfo> {
    this.checkOpen();
    validatePoolName(name);
    try {
      await this.rados.poolCreate(name);
    } catch (e) {
      if (errnoOf(e) === 'EEXIST') throw err('ERR_POOL_EXISTS', `pool '${name}' already exists: (17) File exists`, { cause: e });
      throw mapRadosError(e, { what: `error creating pool '${name}'` });
    }
    return this.lookupPool(name);
  }

  async listPools(): Promise<PoolInfo[]> {
    this.checkOpen();
    const names = await this.rados.poolList().catch((e: unknown) => Promise.reject(mapRadosError(e, { what: 'error listing pools' })));
    const pools: PoolInfo[] = [];
    for (const name of names) {
      try {
        pools.push({ id: await this.rados.poolLookup(name), name });
      } catch {
        // Deleted between the list and the lookup.
      }
    }
    return pools.sort((a, b) => a.id - b.id);
  }

  async lookupPool(name: string): Promise<PoolInfo> {
    this.checkOpen();
    validatePoolName(name);
    try {
      return { id: await this.rados.poolLookup(name), name };
    } catch (e) {
      if (errnoOf(e) === 'ENOENT') throw poolNotFound(name);
      throw mapRadosError(e, { what: `error looking up pool '${name}'` });
    }
  }

  async deletePool(name: string): Promise<void> {
    this.checkOpen();
    validatePoolName(name);
    try {
      await this.rados.poolDelete(name);
    } catch (e) {
      if (errnoOf(e) === 'ENOENT') throw poolNotFound(name);
      throw mapRadosError(e, { what: `error deleting pool '${name}'` });
    }
  }

  async ioctx(pool: string): Promise<IoCtx> {
    this.checkOpen();
    validatePoolName(pool);
    let native;
    try {
      native = await this.rados.openIoCtx(pool);
    } catch (e) {
      if (errnoOf(e) === 'ENOENT') throw poolNotFound(pool);
      throw mapRadosError(e, { what: `error opening pool '${pool}'` });
    }
    const io = new CephIoCtx(this, native, pool, native.poolId(), () => this.ioctxs.delete(io));
    this.ioctxs.add(io);
    return io;
  }

  async shutdown(): Promise<void> {
    if (this.closed) return;
    for (const io of [...this.ioctxs]) await io.close().catch(() => undefined);
    this.closed = true;
    await this.rados.shutdown();
  }
}
