/**
 * One client connection to an embedded cluster: its own SQLite handle, group committer,
 * instance id and (while it watches something) notify socket.
 */
import { dirname } from 'node:path';
import type Database from 'better-sqlite3';
import { err } from '../../errors.js';
import { checkMon, type ParsedCaps } from '../caps.js';
import type { AuthAdmin, Cluster, ConnectOptions, IoCtx, PoolInfo, ThreadConnectSpec } from '../store.js';
import { EmbeddedAuthAdmin } from './auth-admin.js';
import { ChunkStore } from './chunk-data.js';
import { Committer, shutDown } from './committer.js';
import { EmbeddedIoCtx } from './ioctx.js';
import { LockOps } from './locks.js';
import { ObjectOps, type PoolRef, type WatcherRow } from './object-ops.js';
import { ObjectReads } from './object-reads.js';
import type { Db } from './sqlite-schema.js';
import { UnitFile } from './unit-file.js';
import { WalSync } from './wal-sync.js';
import { poolNotFound, validatePoolName } from './validate.js';
import { endpointName, sendDisconnects, WatchServer } from './watch-notify.js';

export interface ClusterIdentity {
  fsid: string;
  entity: string;
  instanceId: string;
  caps: ParsedCaps;
  chunkSize: number;
}

export class EmbeddedCluster implements Cluster {
  readonly backend = 'embedded';
  readonly fsid: string;
  readonly entity: string;
  readonly instanceId: string;
  readonly auth: AuthAdmin;
  readonly caps: ParsedCaps;
  readonly threadConnect: ThreadConnectSpec | undefined;
  readonly committer: Committer;
  private readonly units: UnitFile;
  private readonly wal: WalSync;
  readonly ops: ObjectOps;
  readonly reads: ObjectReads;
  readonly locks: LockOps;
  readonly watchServer: WatchServer;
  private readonly ioctxs = new Set<EmbeddedIoCtx>();
  private seq = 0;
  private closed = false;
  private readonly s: {
    poolByName: Database.Statement<[string], PoolRef>;
    pools: Database.Statement<[], PoolRef>;
    insertPool: Database.Statement<[string]>;
    objectsOf: Database.Statement<[number], { id: number; size: number; version: number; mtime: number }>;
    deletePool: Database.Statement<[number]>;
  };

  constructor(readonly db: Db, id: ClusterIdentity, connectedWith?: ConnectOptions) {
    this.threadConnect = connectedWith && { backend: 'embedded', opts: connectedWith, instanceId: id.instanceId };
    this.fsid = id.fsid;
    this.entity = id.entity;
    this.instanceId = id.instanceId;
    this.caps = id.caps;
    this.units = new UnitFile(db, dirname(db.name), id.chunkSize);
    this.ops = new ObjectOps(db, new ChunkStore(db, id.chunkSize, this.units));
    // COMMIT writes the WAL without syncing it; the committer acknowledges after WalSync did.
    this.wal = new WalSync(`${db.name}-wal`);
    db.pragma('synchronous = NORMAL');
    this.committer = new Committer(db, {
      begin: () => {
        this.ops.beginTransaction();
        this.units.beginTransaction();
      },
      beforeCommit: () => {
        this.ops.beforeCommit();
        return this.units.commitData();
      },
      opFailed: () => this.ops.forgetPools(),
      durable: this.wal,
    });
    this.reads = new ObjectReads(db, this.ops);
    this.locks = new LockOps(db, this.ops);
    this.watchServer = new WatchServer(endpointName(id.fsid, id.instanceId));
    this.auth = new EmbeddedAuthAdmin(db, this.committer, () => this.caps);
    this.s = {
      poolByName: db.prepare('SELECT id, name FROM pools WHERE name = ?'),
      pools: db.prepare('SELECT id, name FROM pools ORDER BY id'),
      insertPool: db.prepare('INSERT INTO pools (name) VALUES (?)'),
      objectsOf: db.prepare('SELECT id, size, version, mtime FROM objects WHERE pool_id = ?'),
      deletePool: db.prepare('DELETE FROM pools WHERE id = ?'),
    };
  }

  /** A per-connection counter for cookies and notify ids. */
  nextSeq(): number {
    return ++this.seq;
  }

  checkOpen(): void {
    if (this.closed) throw shutDown();
  }

  private pool(name: string): PoolRef {
    const p = this.s.poolByName.get(name);
    if (!p) throw poolNotFound(name);
    return { id: p.id, name: p.name };
  }

  async createPool(name: string): Promise<PoolInfo> {
    this.checkOpen();
    validatePoolName(name);
    checkMon(this.caps, ['r', 'w'], `error creating pool '${name}'`);
    return this.committer.write(() => {
      if (this.s.poolByName.get(name)) throw err('ERR_POOL_EXISTS', `pool '${name}' already exists: (17) File exists`);
      const id = Number(this.s.insertPool.run(name).lastInsertRowid);
      return { id, name };
    });
  }

  async listPools(): Promise<PoolInfo[]> {
    this.checkOpen();
    checkMon(this.caps, ['r'], 'error listing pools');
    return this.committer.read(() => this.s.pools.all().map((p) => ({ id: p.id, name: p.name })));
  }

  async lookupPool(name: string): Promise<PoolInfo> {
    this.checkOpen();
    validatePoolName(name);
    checkMon(this.caps, ['r'], `error looking up pool '${name}'`);
    return this.committer.read(() => this.pool(name));
  }

  async deletePool(name: string): Promise<void> {
    this.checkOpen();
    validatePoolName(name);
    checkMon(this.caps, ['r', 'w'], `error deleting pool '${name}'`);
    const lost = await this.committer.write(() => {
      const pool = this.pool(name);
      const watchers: WatcherRow[] = [];
      for (const obj of this.s.objectsOf.all(pool.id)) watchers.push(...this.ops.destroy(obj));
      this.s.deletePool.run(pool.id);
      this.ops.forgetPools();
      return watchers;
    });
    this.disconnect(lost, `pool '${name}' deleted`);
  }

  async ioctx(pool: string): Promise<IoCtx> {
    this.checkOpen();
    validatePoolName(pool);
    checkMon(this.caps, ['r'], `error opening pool '${pool}'`);
    const ref = await this.committer.read(() => this.pool(pool));
    const io = new EmbeddedIoCtx(this, ref, () => this.ioctxs.delete(io));
    this.ioctxs.add(io);
    return io;
  }

  /** Tells the owners of watches whose object went away (theirs may be in this process). */
  disconnect(rows: readonly WatcherRow[], reason: string): void {
    if (rows.length === 0) return;
    const targets = rows.map((r) => ({ instanceId: r.instance_id, cookie: r.cookie, endpoint: r.endpoint }));
    sendDisconnects(targets, reason);
  }

  /** Removes watch rows of dead instances (their processes are gone). */
  async pruneInstances(instances: Iterable<string>): Promise<void> {
    const ids = [...instances];
    if (ids.length === 0) return;
    const del = this.db.prepare<[string]>('DELETE FROM watchers WHERE instance_id = ?');
    await this.committer.write(() => {
      for (const id of ids) del.run(id);
    });
  }

  async shutdown(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const io of [...this.ioctxs]) await io.close();
    // Watches opened on ioctxs closed above are gone; this catches any left by a failed close.
    await this.committer.write(() => {
      this.db.prepare<[string]>('DELETE FROM watchers WHERE instance_id = ?').run(this.instanceId);
    });
    await this.watchServer.close();
    await this.committer.close();
    await this.wal.close();
    this.db.close();
    this.units.close();
  }
}
