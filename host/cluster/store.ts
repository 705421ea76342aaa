/**
 * The Store interface: the subset of librados that both backends honour.
 *
 * `Cluster` is a `rados_t` (one authenticated client connection), `IoCtx` a `rados_ioctx_t`
 * (one pool). Every method maps onto one librados call or one compound operation, so the
 * ceph backend is a thin mapping. Contract points where librados and a local store could
 * differ are decided here, and both backends follow them:
 *
 * - Objects are byte arrays with a size; reading past the end returns a short buffer;
 *   writing past the end zero-fills the gap. Missing objects give ENOENT
 *   (`ERR_OBJECT_NOT_FOUND`) on read, stat, xattr and omap reads, and on remove.
 * - Writes create the object if it does not exist (as RADOS does), except under an
 *   `assert_exists` guard.
 * - Each object has a version that increases with every successful write operation on it.
 * - A compound `operate()` is atomic for ONE object: all guards are checked first; if any
 *   fails, nothing is applied and the call rejects with `ERR_GUARD_FAILED` (ECANCELED),
 *   or ENOENT/EEXIST for the existence guards. There are no multi-object transactions.
 * - An acknowledged write is durable (survives SIGKILL of any process at any moment).
 * - Object size limit: `MAX_OBJECT_SIZE` (128 MiB, Ceph's `osd_max_object_size`);
 *   one write at most `MAX_WRITE_SIZE` (90 MiB, `osd_max_write_size`); larger gives EFBIG.
 * - omap keys are strings, ordered bytewise; values are bytes. `omapGetVals` pages with
 *   `after` (exclusive) and `max`, and says whether `more` remain.
 * - Notifies are delivered to every watcher of the object (including other processes);
 *   each watcher's callback may return a reply; a watcher that does not answer within the
 *   timeout is listed in `timeouts` — or, where the backend drops the watch of a client that
 *   fails to ack (Ceph 16.2's OSD does), in neither list, and it no longer watches. A watcher
 *   whose client died is dropped, not waited for.
 * - Caps are enforced by the backend for the authenticated entity: a read needs `r`, a
 *   write `w` on the pool, else EACCES (`ERR_PERMISSION`).
 */

export const MAX_OBJECT_SIZE = 128 * 1024 * 1024;
export const MAX_WRITE_SIZE = 90 * 1024 * 1024;
/** Default notify timeout, librados' `rados_notify2` default (5 s in librbd's usage). */
export const DEFAULT_NOTIFY_TIMEOUT_MS = 5000;

export interface ObjectStat {
  size: number;
  /** Modification time, ms since the epoch. */
  mtime: number;
  /** Increases on every successful write operation on the object. */
  version: number;
}

export type CmpOp = 'eq' | 'ne' | 'gt' | 'gte' | 'lt' | 'lte';

/** Guards of a compound operation, checked atomically before any step runs. */
export type Guard =
  | { op: 'assert_exists' }
  /** Fails with EEXIST when the object exists (rados "exclusive create"). */
  | { op: 'assert_not_exists' }
  /** Fails with ECANCELED unless the object's version equals `version`. */
  | { op: 'assert_version'; version: number }
  /** Bytewise comparison of the xattr's value (missing xattr compares as empty). */
  | { op: 'cmp_xattr'; name: string; cmp: CmpOp; value: Uint8Array }
  /** Bytewise comparison of an omap value; a missing key fails the guard (as rados does). */
  | { op: 'cmp_omap'; key: string; cmp: CmpOp; value: Uint8Array };

export type WriteStep =
  | { op: 'create'; exclusive: boolean }
  | { op: 'write'; offset: number; data: Uint8Array }
  | { op: 'write_full'; data: Uint8Array }
  | { op: 'append'; data: Uint8Array }
  | { op: 'truncate'; size: number }
  | { op: 'zero'; offset: number; length: number }
  | { op: 'remove' }
  | { op: 'setxattr'; name: string; value: Uint8Array }
  | { op: 'rmxattr'; name: string }
  | { op: 'omap_set'; entries: Map<string, Uint8Array> }
  | { op: 'omap_rm'; keys: string[] }
  | { op: 'omap_clear' };

export interface WriteOp {
  guards?: Guard[];
  steps: WriteStep[];
}

export type ReadStep =
  | { op: 'read'; offset: number; length: number }
  | { op: 'stat' }
  | { op: 'getxattr'; name: string }
  | { op: 'getxattrs' }
  | { op: 'omap_get_vals'; after?: string; prefix?: string; max?: number }
  | { op: 'omap_get_vals_by_keys'; keys: string[] };

export interface ReadOp {
  guards?: Guard[];
  steps: ReadStep[];
}

/** One result per ReadStep, in order. */
export type ReadResult =
  | { op: 'read'; data: Buffer }
  | { op: 'stat'; stat: ObjectStat }
  | { op: 'getxattr'; value: Buffer }
  | { op: 'getxattrs'; xattrs: Map<string, Buffer> }
  | { op: 'omap_get_vals'; entries: Map<string, Buffer>; more: boolean }
  | { op: 'omap_get_vals_by_keys'; entries: Map<string, Buffer> };

export interface OmapPage {
  entries: Map<string, Buffer>;
  more: boolean;
}

export interface NotifyMessage {
  /** Id of this notify, unique in the cluster. */
  notifyId: string;
  /** Cookie of the watch receiving it. */
  cookie: string;
  /** Instance id of the notifier. */
  notifierId: string;
  payload: Buffer;
}

/** A watch callback may return a reply payload (rados_notify_ack's buffer). */
export type WatchCallback = (msg: NotifyMessage) => Uint8Array | void | Promise<Uint8Array | void>;

export interface WatchHandle {
  readonly cookie: string;
  /** Stops the watch (rados_unwatch2). */
  close(): Promise<void>;
}

export interface NotifyResult {
  acks: Array<{ instanceId: string; cookie: string; reply: Buffer }>;
  timeouts: Array<{ instanceId: string; cookie: string }>;
}

export interface WatcherInfo {
  /** Instance id of the watching client (rados_get_instance_id of its connection). */
  instanceId: string;
  /** Entity name of the watching client, e.g. `client.admin`. */
  entity: string;
  cookie: string;
}

export interface LockerInfo {
  /** Instance id of the holder: the `client.<gid>` that rados_list_lockers shows. */
  instanceId: string;
  entity: string;
  cookie: string;
  description: string;
  /** 0 for no expiry; else ms since the epoch when the lock lapses. */
  expiresAt: number;
}

export interface LockOptions {
  description?: string;
  /** The lock lapses this long after it is taken (or renewed); 0 or absent: never. */
  durationMs?: number;
  /** LOCK_FLAG_MAY_RENEW: re-taking one's own lock renews it instead of failing with EEXIST. */
  renew?: boolean;
}

export interface LockInfo {
  exclusive: boolean;
  tag: string;
  lockers: LockerInfo[];
}

/** One pool: `rados_ioctx_t`. */
export interface IoCtx {
  readonly poolName: string;
  readonly poolId: number;

  read(oid: string, offset?: number, length?: number): Promise<Buffer>;
  write(oid: string, data: Uint8Array, offset: number): Promise<void>;
  writeFull(oid: string, data: Uint8Array): Promise<void>;
  append(oid: string, data: Uint8Array): Promise<void>;
  truncate(oid: string, size: number): Promise<void>;
  remove(oid: string): Promise<void>;
  stat(oid: string): Promise<ObjectStat>;

  getXattr(oid: string, name: string): Promise<Buffer>;
  getXattrs(oid: string): Promise<Map<string, Buffer>>;
  setXattr(oid: string, name: string, value: Uint8Array): Promise<void>;
  rmXattr(oid: string, name: string): Promise<void>;

  omapGetVals(oid: string, opts?: { after?: string; prefix?: string; max?: number }): Promise<OmapPage>;
  omapGetValsByKeys(oid: string, keys: string[]): Promise<Map<string, Buffer>>;
  omapSet(oid: string, entries: Map<string, Uint8Array>): Promise<void>;
  omapRemoveKeys(oid: string, keys: string[]): Promise<void>;
  omapClear(oid: string): Promise<void>;

  /** Atomic compound write on one object, guards first. */
  operate(oid: string, op: WriteOp): Promise<void>;
  /** Compound read on one object, guards first; one result per step. */
  operateRead(oid: string, op: ReadOp): Promise<ReadResult[]>;

  /** Object names in the pool, in no particular order; `prefix` filters. */
  listObjects(opts?: { prefix?: string }): AsyncIterable<string>;

  watch(oid: string, cb: WatchCallback, onError?: (e: Error) => void): Promise<WatchHandle>;
  notify(oid: string, payload: Uint8Array, timeoutMs?: number): Promise<NotifyResult>;
  listWatchers(oid: string): Promise<WatcherInfo[]>;

  /**
   * cls_lock: take an exclusive lock `name` on `oid` (EBUSY if someone else holds it).
   * `renew` is LOCK_FLAG_MAY_RENEW: the same locker taking it again renews its duration
   * instead of failing with EEXIST (a lease kept alive by its holder).
   */
  lockExclusive(oid: string, name: string, cookie: string, opts?: LockOptions & { tag?: string }): Promise<void>;
  /** cls_lock: shared lock, several holders with the same tag. */
  lockShared(oid: string, name: string, cookie: string, tag: string, opts?: LockOptions): Promise<void>;
  unlock(oid: string, name: string, cookie: string): Promise<void>;
  /** Breaks another client's lock (after deciding it is dead); ENOENT if not held so. */
  breakLock(oid: string, name: string, instanceId: string, cookie: string): Promise<void>;
  getLockInfo(oid: string, name: string): Promise<LockInfo>;

  close(): Promise<void>;
}

export interface PoolInfo {
  id: number;
  name: string;
}

/** An auth entity as `ceph auth get` shows it. */
export interface AuthEntity {
  entity: string;
  key: string;
  /** Service → cap string, e.g. `{ mon: 'profile rbd', osd: 'profile rbd' }`. */
  caps: Record<string, string>;
}

/** The monitor's auth database (cephx). Needs `mon 'allow *'` (or `allow rwx`) caps. */
export interface AuthAdmin {
  getOrCreate(entity: string, caps: Record<string, string>): Promise<AuthEntity>;
  get(entity: string): Promise<AuthEntity>;
  list(): Promise<AuthEntity[]>;
  remove(entity: string): Promise<void>;
  setCaps(entity: string, caps: Record<string, string>): Promise<AuthEntity>;
}

/** One authenticated client connection to a cluster: `rados_t`. */
export interface Cluster {
  /** The cluster's fsid (uuid). */
  readonly fsid: string;
  /** The authenticated entity, e.g. `client.admin`. */
  readonly entity: string;
  /** Unique per connection (rados_get_instance_id), e.g. `4123`. */
  readonly instanceId: string;
  /** `embedded` or `ceph`. */
  readonly backend: string;
  /**
   * Set where this connection's I/O runs on the calling thread (embedded: synchronous
   * SQLite and pread): how a worker thread of this process opens the same kind of
   * connection (`threadIoctx`), so bulk reads can leave the main thread. Unset where
   * I/O is asynchronous already (librados has its own threads).
   */
  readonly threadConnect?: ThreadConnectSpec | undefined;

  createPool(name: string): Promise<PoolInfo>;
  listPools(): Promise<PoolInfo[]>;
  /** Removes the pool and every object in it. */
  deletePool(name: string): Promise<void>;
  /** ENOENT (`ERR_POOL_NOT_FOUND`) when missing. */
  lookupPool(name: string): Promise<PoolInfo>;

  /** Opens a pool; ENOENT when missing. */
  ioctx(pool: string): Promise<IoCtx>;

  readonly auth: AuthAdmin;

  /** Closes every ioctx and watch of this connection. */
  shutdown(): Promise<void>;
}

/** A connection's backend and options, plain data a worker thread can connect with. */
export interface ThreadConnectSpec {
  backend: string;
  opts: ConnectOptions;
  /** The connection it was taken from: a new connection (a reconnect) gets new worker connections. */
  instanceId: string;
}

/** What a backend needs to connect: from the conf, `--id/--name` and the keyring. */
export interface ConnectOptions {
  /** Cluster name (`--cluster`). */
  clusterName: string;
  /** Parsed conf, `section → key → value`, keys normalized to underscores. */
  conf: ConfSections;
  /** Path of the conf file it came from. */
  confPath: string;
  /** Entity to authenticate as, e.g. `client.admin`. */
  entity: string;
  /** The secret from the keyring. */
  key: string;
}

export type ConfSections = Record<string, Record<string, string>>;

/** A backend: `embedded` or `ceph`. */
export interface Backend {
  readonly name: string;
  connect(opts: ConnectOptions): Promise<Cluster>;
}
