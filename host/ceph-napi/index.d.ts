/** Node-API addon over librados. Every I/O call returns a Promise; errors carry `errno`
 *  (negative, e.g. -2) and `code` (e.g. 'ENOENT'). */

export interface RadosError extends Error {
  errno: number;
  code: string;
  syscall?: string;
  /** Status text of a failed mon command. */
  outs?: string;
}

export const libradosVersion: string;
/** LIBRADOS_CMPXATTR_OP_* */
export const CMP: Readonly<{ eq: 1; ne: 2; gt: 3; gte: 4; lt: 5; lte: 6 }>;
export type CmpCode = 1 | 2 | 3 | 4 | 5 | 6;

type Bytes = Uint8Array | string;
type U64 = number | bigint | string;

export type WriteStep =
  | { op: 'assert_exists' }
  | { op: 'assert_version'; version: U64 }
  | { op: 'cmpxattr'; name: string; cmp: CmpCode; value: Bytes }
  | { op: 'omap_cmp'; key: string; cmp: CmpCode; value: Bytes }
  | { op: 'create'; exclusive: boolean }
  | { op: 'write'; offset: U64; data: Bytes }
  | { op: 'write_full'; data: Bytes }
  | { op: 'append'; data: Bytes }
  | { op: 'truncate'; size: U64 }
  /** A zero-length zero is dropped (the 16.2 OSD asserts on one). */
  | { op: 'zero'; offset: U64; length: U64 }
  | { op: 'remove' }
  | { op: 'setxattr'; name: string; value: Bytes }
  | { op: 'rmxattr'; name: string }
  | { op: 'omap_set'; keys: string[]; values: Bytes[] }
  | { op: 'omap_rm'; keys: string[] }
  | { op: 'omap_clear' }
  | { op: 'exec'; cls: string; method: string; input?: Bytes };

export type ReadStep =
  | { op: 'assert_exists' }
  | { op: 'assert_version'; version: U64 }
  | { op: 'cmpxattr'; name: string; cmp: CmpCode; value: Bytes }
  | { op: 'omap_cmp'; key: string; cmp: CmpCode; value: Bytes }
  | { op: 'read'; offset: U64; length: U64 }
  | { op: 'stat' }
  | { op: 'getxattrs' }
  | { op: 'omap_get_vals'; after?: string | undefined; prefix?: string | undefined; max: U64 }
  | { op: 'omap_get_vals_by_keys'; keys: string[] }
  | { op: 'exec'; cls: string; method: string; input?: Bytes };

/** `failok` (LIBRADOS_OP_FLAG_FAILOK): this step's failure does not fail the op. */
export type WithFlags<T> = T & { failok?: boolean };

export interface ReadStepResult {
  op: string;
  /** The step's own return value (< 0: failed, with `failok`). */
  prval: number;
  data?: Buffer;
  size?: number;
  /** ms since the epoch, whole seconds (the C API's time_t). */
  mtime?: number;
  entries?: Array<[string, Buffer]>;
  more?: boolean;
  xattrs?: Array<[string, Buffer]>;
}

export interface NotifyReply {
  acks: Array<{ notifierId: string; cookie: string; payload: Buffer }>;
  timeouts: Array<{ notifierId: string; cookie: string }>;
  /** rados_aio_notify returned ETIMEDOUT (some watcher did not ack in time). */
  timedOut: boolean;
}

export class Rados {
  /** rados_create2(clusterName, name e.g. 'client.admin'). */
  constructor(clusterName: string, name: string);
  confReadFile(path: string): void;
  confSet(key: string, value: string): void;
  confGet(key: string): string;
  connect(): Promise<void>;
  /** Waits for in-flight ops, destroys the ioctxs, flushes watches, rados_shutdown. */
  shutdown(): Promise<void>;
  fsid(): string;
  /** rados_get_instance_id: this connection's global id (decimal). */
  instanceId(): string;
  /** Ops in flight (they ref the event loop). */
  inFlight(): number;
  poolCreate(name: string): Promise<void>;
  poolDelete(name: string): Promise<void>;
  poolLookup(name: string): Promise<number>;
  poolList(): Promise<string[]>;
  /** rados_mon_command (or _target, naming one monitor). */
  monCommand(cmd: string, inbuf?: Bytes | null, target?: string): Promise<{ outbuf: Buffer; outs: string }>;
  blocklistAdd(addr: string, expireSeconds?: number): Promise<void>;
  waitForLatestOsdmap(): Promise<void>;
  openIoCtx(pool: string): Promise<IoCtx>;
}

export class ObjectList {
  private constructor();
  /** Up to `max` names (default 1000); `done` once the pool is exhausted. One call at a time. */
  next(max?: number): Promise<{ names: string[]; done: boolean }>;
  close(): void;
}

export class IoCtx {
  private constructor();
  poolId(): number;
  write(oid: string, data: Bytes, offset: U64): Promise<void>;
  writeFull(oid: string, data: Bytes): Promise<void>;
  append(oid: string, data: Bytes): Promise<void>;
  /** A short Buffer past the end of the object. */
  read(oid: string, offset: U64, length: U64): Promise<Buffer>;
  remove(oid: string): Promise<void>;
  stat(oid: string): Promise<{ size: number; mtime: number; version: number }>;
  writeOp(oid: string, steps: Array<WithFlags<WriteStep>>, flags?: number): Promise<{ version: number }>;
  readOp(oid: string, steps: Array<WithFlags<ReadStep>>, flags?: number): Promise<{ version: number; results: ReadStepResult[] }>;
  openList(): ObjectList;
  /** Resolves with the cookie. `timeoutSeconds` 0 = the OSD's default (30 s). */
  watch(
    oid: string,
    onNotify: (notifyId: string, cookie: string, notifierId: string, payload: Buffer) => void,
    onError?: (cookie: string, err: RadosError) => void,
    timeoutSeconds?: number,
  ): Promise<string>;
  unwatch(cookie: U64): Promise<void>;
  /** ms since the watch was last confirmed, or a negative errno. */
  watchCheck(cookie: U64): number;
  notify(oid: string, payload: Bytes, timeoutMs: U64): Promise<NotifyReply>;
  notifyAck(oid: string, notifyId: U64, cookie: U64, reply?: Bytes | null): void;
  lockExclusive(oid: string, name: string, cookie: string, description?: string, durationMs?: U64, flags?: number): Promise<void>;
  lockShared(oid: string, name: string, cookie: string, tag: string, description?: string, durationMs?: U64, flags?: number): Promise<void>;
  unlock(oid: string, name: string, cookie: string): Promise<void>;
  breakLock(oid: string, name: string, client: string, cookie: string): Promise<void>;
  listLockers(oid: string, name: string): Promise<{ exclusive: boolean; tag: string; lockers: Array<{ client: string; cookie: string; addr: string }> }>;
  /** Waits for this ioctx's in-flight ops, then rados_ioctx_destroy. */
  close(): Promise<void>;

  // Conveniences (index.js) over readOp/writeOp.
  getXattrs(oid: string): Promise<Map<string, Buffer>>;
  getXattr(oid: string, name: string): Promise<Buffer>;
  setXattr(oid: string, name: string, value: Bytes): Promise<{ version: number }>;
  rmXattr(oid: string, name: string): Promise<{ version: number }>;
  omapGetVals(oid: string, opts?: { after?: string; prefix?: string; max?: number }): Promise<{ entries: Map<string, Buffer>; more: boolean }>;
  omapGetValsByKeys(oid: string, keys: string[]): Promise<Map<string, Buffer>>;
  omapSet(oid: string, entries: Map<string, Bytes> | Record<string, Bytes>): Promise<{ version: number }>;
  omapRemoveKeys(oid: string, keys: string[]): Promise<{ version: number }>;
  omapClear(oid: string): Promise<{ version: number }>;
  truncate(oid: string, size: U64): Promise<{ version: number }>;
  zero(oid: string, offset: U64, length: U64): Promise<{ version: number }>;
  exec(oid: string, cls: string, method: string, input?: Bytes): Promise<Buffer>;
  listObjects(pageSize?: number): AsyncGenerator<string>;
}
