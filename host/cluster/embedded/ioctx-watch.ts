/**
 * watch / notify / listWatchers of an ioctx. Watch rows live in the database (so any
 * process can find them); callbacks live in this process's WatchServer.
 */
import type Database from 'better-sqlite3';
import { err } from '../../errors.js';
import type { NotifyResult, WatchCallback, WatcherInfo, WatchHandle } from '../store.js';
import type { EmbeddedIoCtx } from './ioctx.js';
import { validateCount } from './validate.js';
import { probe, sendNotify, type WatchTarget } from './watch-notify.js';

interface Row {
  instance_id: string;
  cookie: string;
  entity: string;
  endpoint: string;
}

const toTarget = (r: Row): WatchTarget => ({ instanceId: r.instance_id, cookie: r.cookie, endpoint: r.endpoint });

export class WatchSupport {
  /** Cookies of the watches opened through this ioctx. */
  private readonly mine = new Set<string>();
  private readonly s: {
    insert: Database.Statement<[number, string, string, string, string]>;
    remove: Database.Statement<[string, string]>;
    of: Database.Statement<[number], Row>;
  };

  constructor(private readonly io: EmbeddedIoCtx) {
    const db = io.cluster.db;
    this.s = {
      insert: db.prepare('INSERT INTO watchers (obj_id, instance_id, cookie, entity, endpoint) VALUES (?, ?, ?, ?, ?)'),
      remove: db.prepare('DELETE FROM watchers WHERE instance_id = ? AND cookie = ?'),
      of: db.prepare('SELECT instance_id, cookie, entity, endpoint FROM watchers WHERE obj_id = ? ORDER BY instance_id, cookie'),
    };
  }

  /** The watchers of an existing object (ENOENT otherwise). */
  private rows(oid: string): Promise<Row[]> {
    const { cluster: c, pool } = this.io;
    return c.committer.read(() => {
      c.ops.requirePool(pool);
      return this.s.of.all(c.ops.get(pool, oid).id);
    });
  }

  async watch(oid: string, cb: WatchCallback, onError?: (e: Error) => void): Promise<WatchHandle> {
    // CEPH_OSD_OP_WATCH is a write op with the read bit forced: it needs r and w.
    this.io.check(oid, ['r', 'w'], 'error watching');
    if (typeof cb !== 'function') throw err('ERR_INVALID_ARGUMENT', 'watch callback must be a function: (22) Invalid argument');
    const c = this.io.cluster;
    const cookie = String(c.nextSeq());
    // Registered locally first: the server then cannot be closed under this watch by a
    // concurrent unwatch, and it listens before any notifier can find the row.
    c.watchServer.add(cookie, cb, onError);
    try {
      await c.watchServer.listen();
      await c.committer.write(() => {
        c.ops.requirePool(this.io.pool);
        const obj = c.ops.get(this.io.pool, oid);
        this.s.insert.run(obj.id, c.instanceId, cookie, c.entity, c.watchServer.endpoint);
      });
    } catch (e) {
      c.watchServer.remove(cookie);
      if (c.watchServer.size === 0) await c.watchServer.close();
      throw e;
    }
    this.mine.add(cookie);
    return { cookie, close: () => this.unwatch(cookie) };
  }

  private async unwatch(cookie: string): Promise<void> {
    if (!this.mine.delete(cookie)) return;
    const c = this.io.cluster;
    c.watchServer.remove(cookie);
    try {
      await c.committer.write(() => void this.s.remove.run(c.instanceId, cookie));
    } finally {
      if (c.watchServer.size === 0) await c.watchServer.close();
    }
  }

  async closeAll(): Promise<void> {
    for (const cookie of [...this.mine]) await this.unwatch(cookie);
  }

  async notify(oid: string, payload: Uint8Array, timeoutMs: number): Promise<NotifyResult> {
    this.io.check(oid, ['r'], 'error notifying');
    if (!(payload instanceof Uint8Array)) throw err('ERR_INVALID_ARGUMENT', 'notify payload must be bytes: (22) Invalid argument');
    validateCount('notify timeout', timeoutMs);
    const c = this.io.cluster;
    const rows = await this.rows(oid);
    const notifyId = `${c.instanceId}.${c.nextSeq()}`;
    const out = await sendNotify(rows.map(toTarget), { notifyId, notifierId: c.instanceId, payload }, timeoutMs);
    await this.prune(rows, out.dead);
    return { acks: out.acks, timeouts: out.timeouts };
  }

  async listWatchers(oid: string): Promise<WatcherInfo[]> {
    this.io.check(oid, ['r'], 'error listing watchers of');
    const c = this.io.cluster;
    const rows = await this.rows(oid);
    const others = [...new Set(rows.map((r) => r.endpoint))].filter((e) => e !== c.watchServer.endpoint);
    const alive = await Promise.all(others.map(probe));
    const dead = new Set(others.filter((_, i) => !alive[i]));
    await this.prune(rows, dead);
    return rows.filter((r) => !dead.has(r.endpoint)).map((r) => ({ instanceId: r.instance_id, entity: r.entity, cookie: r.cookie }));
  }

  private async prune(rows: readonly Row[], deadEndpoints: ReadonlySet<string>): Promise<void> {
    if (deadEndpoints.size === 0) return;
    const instances = new Set(rows.filter((r) => deadEndpoints.has(r.endpoint)).map((r) => r.instance_id));
    await this.io.cluster.pruneInstances(instances);
  }
}
