/**
 * An open pool on a Ceph cluster: each Store call is validated like the embedded
 * backend's (same EINVAL/EFBIG before anything is sent), then is one librados call or
 * compound op. Guards librados cannot express are emulated (ops.ts).
 */
import type { IoCtx as NIoCtx, ReadStep as NReadStep, ReadStepResult } from 'ceph-napi';
import {
  DEFAULT_NOTIFY_TIMEOUT_MS,
  type Guard, type IoCtx, type LockInfo, type NotifyResult, type ObjectStat, type OmapPage, type ReadOp, type ReadResult,
  type WatchCallback, type WatcherInfo, type WatchHandle, type WriteOp, type WriteStep,
  type LockOptions,
} from '../store.js';
import { objectNotFound, poolNotFound, validateOid, validateReadOp, validateText, validateWriteOp } from '../embedded/validate.js';
import { HostError } from '../../errors.js';
import type { CephCluster } from './cluster.js';
import { errnoOf, mapRadosError, shutDown } from './errors.js';
import { CephLocks } from './locks.js';
import { checkGuards, creates, nativeGuard, nativeReadStep, nativeWriteStep, OMAP_PAGE, rewriteForSize, sizeDependent, snapshotSteps, type Snapshot } from './ops.js';
import { CephWatches } from './watch.js';

/** Reads without a length (or a huge one) go in pieces of this size, not one big buffer. */
const READ_PIECE = 4 * 1024 * 1024;
const MAX_RETRIES = 32;

export class CephIoCtx implements IoCtx {
  private closed = false;
  readonly watches: CephWatches;
  private readonly locks: CephLocks;

  constructor(
    readonly cluster: CephCluster,
    readonly native: NIoCtx,
    readonly poolName: string,
    readonly poolId: number,
    private readonly onClose: () => void,
  ) {
    this.watches = new CephWatches(this);
    this.locks = new CephLocks(this);
  }

  /** Throws unless open and the oid is valid. */
  check(oid: string | null): void {
    if (this.closed) throw shutDown();
    this.cluster.checkOpen();
    if (oid !== null) validateOid(oid);
  }

  /** Maps an addon error; ENOENT becomes ERR_POOL_NOT_FOUND when this ioctx's pool is gone. */
  async fail(e: unknown, what: string, oid?: string): Promise<never> {
    if (errnoOf(e) === 'ENOENT' && !(await this.poolStillExists())) throw poolNotFound(this.poolName);
    throw mapRadosError(e, { what, pool: this.poolName, ...(oid !== undefined ? { oid } : {}) });
  }

  private async poolStillExists(): Promise<boolean> {
    try {
      return (await this.cluster.rados.poolLookup(this.poolName)) === this.poolId;
    } catch {
      return false;
    }
  }

  // --- writes ----------------------------------------------------------------------

  async operate(oid: string, op: WriteOp): Promise<void> {
    this.check(oid);
    validateWriteOp(op);
    const guards = op.guards ?? [];
    const steps = op.steps.map(nativeWriteStep);
    const native = guards.map(nativeGuard);
    if (native.every((g) => g !== null) && !op.steps.some(sizeDependent)) {
      try {
        await this.native.writeOp(oid, [...(native as NonNullable<(typeof native)[number]>[]), ...steps]);
        if (op.steps.some((st) => st.op === 'remove')) this.cluster.expectLoss(oid, this.poolId);
        return;
      } catch (e) {
        const code = errnoOf(e);
        // assert_version: ERANGE (older) / EOVERFLOW (newer, or no object) → a failed guard.
        if ((code === 'ERANGE' || code === 'EOVERFLOW') && guards.some((g) => g.op === 'assert_version')) {
          throw mapRadosError(Object.assign(new Error('assert_version'), { code: 'ECANCELED' }), { what: 'error writing', pool: this.poolName, oid });
        }
        // cmpxattr on a missing object is ENOENT in RADOS; the contract compares as empty.
        if (!(code === 'ENOENT' && guards.some((g) => g.op === 'cmp_xattr'))) return this.fail(e, 'error writing', oid);
      }
    }
    await this.emulated(oid, guards, op.steps);
  }

  /** Guards checked on a snapshot, the write then made conditional on its version. */
  private async emulated(oid: string, guards: readonly Guard[], orig: readonly WriteStep[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const snap = await this.snapshot(oid, guards);
      checkGuards(this.poolName, oid, snap, guards);
      const steps = rewriteForSize(orig, snap);
      try {
        if (snap.exists) {
          await this.native.writeOp(oid, [{ op: 'assert_version', version: snap.version }, ...steps]);
        } else {
          // No version to assert on a missing object: an exclusive create stands in for
          // "still missing" when the op creates it anyway (unless it brings its own).
          const guardCreate = orig.some(creates) && !orig.some((s) => s.op === 'create' && s.exclusive);
          // Nothing to do on a missing object (e.g. zero or truncate only): RADOS refuses an empty op.
          if (steps.length > 0) await this.native.writeOp(oid, guardCreate ? [{ op: 'create', exclusive: true }, ...steps] : steps);
        }
        if (orig.some((st) => st.op === 'remove')) this.cluster.expectLoss(oid, this.poolId);
        return;
      } catch (e) {
        const code = errnoOf(e);
        const raced = snap.exists ? code === 'ERANGE' || code === 'EOVERFLOW' : code === 'EEXIST' && !orig.some((s) => s.op === 'create' && s.exclusive);
        if (raced && attempt < MAX_RETRIES) continue;
        return this.fail(e, 'error writing', oid);
      }
    }
  }

  private async snapshot(oid: string, guards: readonly Guard[]): Promise<Snapshot> {
    try {
      const { version, results } = await this.native.readOp(oid, snapshotSteps(guards));
      const snap: Snapshot = { exists: true, size: results[0]?.size ?? 0, version, xattrs: new Map(), omap: new Map() };
      for (const r of results) {
        if (r.op === 'getxattrs') snap.xattrs = new Map(r.xattrs ?? []);
        if (r.op === 'omap_get_vals_by_keys') snap.omap = new Map(r.entries ?? []);
      }
      return snap;
    } catch (e) {
      if (errnoOf(e) === 'ENOENT' && (await this.poolStillExists())) return { exists: false, size: 0, version: 0, xattrs: new Map(), omap: new Map() };
      return this.fail(e, 'error reading', oid);
    }
  }

  private step(oid: string, step: WriteStep): Promise<void> {
    return this.operate(oid, { steps: [step] });
  }

  async write(oid: string, data: Uint8Array, offset: number): Promise<void> {
    this.check(oid);
    validateWriteOp({ steps: [{ op: 'write', offset, data }] });
    await this.native.write(oid, data, offset).catch((e: unknown) => this.fail(e, 'error writing', oid));
  }

  async writeFull(oid: string, data: Uint8Array): Promise<void> {
    this.check(oid);
    validateWriteOp({ steps: [{ op: 'write_full', data }] });
    await this.native.writeFull(oid, data).catch((e: unknown) => this.fail(e, 'error writing', oid));
  }

  async append(oid: string, data: Uint8Array): Promise<void> {
    this.check(oid);
    validateWriteOp({ steps: [{ op: 'append', data }] });
    await this.native.append(oid, data).catch((e: unknown) => this.fail(e, 'error writing', oid));
  }

  truncate(oid: string, size: number): Promise<void> {
    return this.step(oid, { op: 'truncate', size });
  }

  async remove(oid: string): Promise<void> {
    this.check(oid);
    await this.native.remove(oid).catch((e: unknown) => this.fail(e, 'error removing', oid));
    this.cluster.expectLoss(oid, this.poolId);
  }

  setXattr(oid: string, name: string, value: Uint8Array): Promise<void> {
    return this.step(oid, { op: 'setxattr', name, value });
  }

  rmXattr(oid: string, name: string): Promise<void> {
    return this.step(oid, { op: 'rmxattr', name });
  }

  omapSet(oid: string, entries: Map<string, Uint8Array>): Promise<void> {
    return this.step(oid, { op: 'omap_set', entries });
  }

  omapRemoveKeys(oid: string, keys: string[]): Promise<void> {
    return this.step(oid, { op: 'omap_rm', keys });
  }

  omapClear(oid: string): Promise<void> {
    return this.step(oid, { op: 'omap_clear' });
  }

  // --- reads -----------------------------------------------------------------------

  /** Compound read: guards are evaluated on values read by the same op (so atomically). */
  async operateRead(oid: string, op: ReadOp): Promise<ReadResult[]> {
    this.check(oid);
    validateReadOp(op);
    const guards = op.guards ?? [];
    if (op.steps.length === 0 && guards.length === 0) return [];
    const extra = guards.length > 0 ? snapshotSteps(guards) : [];
    // RADOS starts an omap listing strictly after `after` (default ''), so the empty key is
    // never listed: fetch it by name alongside, where the range includes it.
    const nsteps: NReadStep[] = [];
    const at: number[] = [];
    const emptyAt = new Map<number, number>();
    for (const [i, st] of op.steps.entries()) {
      at.push(nsteps.length);
      nsteps.push(nativeReadStep(st));
      if (st.op === 'omap_get_vals' && st.after === undefined && !st.prefix) {
        emptyAt.set(i, nsteps.length);
        nsteps.push({ op: 'omap_get_vals_by_keys', keys: [''] });
      }
    }
    const extraAt = nsteps.length;
    let reply: { version: number; results: ReadStepResult[] };
    try {
      reply = await this.native.readOp(oid, [...nsteps, ...extra]);
    } catch (e) {
      if (errnoOf(e) === 'ENOENT' && (await this.poolStillExists())) {
        checkGuards(this.poolName, oid, { exists: false, size: 0, version: 0, xattrs: new Map(), omap: new Map() }, guards);
        if (op.steps.length === 0) return [];
        throw objectNotFound(this.poolName, oid);
      }
      return this.fail(e, 'error reading', oid);
    }
    const snap: Snapshot = { exists: true, size: 0, version: reply.version, xattrs: new Map(), omap: new Map() };
    for (const r of reply.results.slice(extraAt)) {
      if (r.op === 'getxattrs') snap.xattrs = new Map(r.xattrs ?? []);
      if (r.op === 'omap_get_vals_by_keys') snap.omap = new Map(r.entries ?? []);
    }
    checkGuards(this.poolName, oid, snap, guards);
    const out: ReadResult[] = [];
    for (const [i, step] of op.steps.entries()) {
      const r = reply.results[at[i]!]!;
      switch (step.op) {
        case 'read':
          out.push({ op: 'read', data: r.data ?? Buffer.alloc(0) });
          break;
        case 'stat':
          out.push({ op: 'stat', stat: { size: r.size ?? 0, mtime: r.mtime ?? 0, version: reply.version } });
          break;
        case 'getxattr': {
          const v = new Map(r.xattrs ?? []).get(step.name);
          if (v === undefined) {
            throw new HostError('ERR_XATTR_NOT_FOUND', 'ENODATA', `object ${this.poolName}/${oid} has no xattr '${step.name}': (61) No data available`);
          }
          out.push({ op: 'getxattr', value: v });
          break;
        }
        case 'getxattrs':
          out.push({ op: 'getxattrs', xattrs: new Map(r.xattrs ?? []) });
          break;
        case 'omap_get_vals': {
          let entries = new Map(r.entries ?? []);
          let more = r.more ?? false;
          const empty = emptyAt.has(i) ? reply.results[emptyAt.get(i)!]?.entries?.[0] : undefined;
          if (empty) {
            entries = new Map([empty, ...entries]);
            if (step.max !== undefined && entries.size > step.max) {
              entries = new Map([...entries].slice(0, step.max));
              more = true;
            }
          }
          // No max: the whole range, in further pages (librados caps one op's entries).
          while (step.max === undefined && more) {
            const last = [...entries.keys()].pop();
            const page = await this.omapGetVals(oid, { ...(step.prefix !== undefined ? { prefix: step.prefix } : {}), ...(last !== undefined ? { after: last } : {}), max: OMAP_PAGE });
            for (const [k, v] of page.entries) entries.set(k, v);
            more = page.more;
          }
          out.push({ op: 'omap_get_vals', entries, more });
          break;
        }
        case 'omap_get_vals_by_keys':
          out.push({ op: 'omap_get_vals_by_keys', entries: new Map(r.entries ?? []) });
          break;
      }
    }
    return out;
  }

  private async readOne<T extends ReadResult['op']>(oid: string, step: ReadOp['steps'][number] & { op: T }) {
    const [r] = await this.operateRead(oid, { steps: [step] });
    return r as Extract<ReadResult, { op: T }>;
  }

  async read(oid: string, offset = 0, length?: number): Promise<Buffer> {
    this.check(oid);
    validateReadOp({ steps: [{ op: 'read', offset, length: length ?? 0 }] });
    // A zero-length read means "the whole object" to RADOS: answer it here.
    if (length === 0) {
      await this.stat(oid);
      return Buffer.alloc(0);
    }
    if (length !== undefined && length <= READ_PIECE) {
      return this.native.read(oid, offset, length).catch((e: unknown) => this.fail(e, 'error reading', oid));
    }
    // Unknown or large length: stat with the first piece, then the rest under
    // assert_version, so the pieces come from one version of the object.
    for (let attempt = 0; ; attempt++) {
      const first = await this.native
        .readOp(oid, [{ op: 'stat' }, { op: 'read', offset, length: Math.min(length ?? READ_PIECE, READ_PIECE) }])
        .catch((e: unknown) => this.fail(e, 'error reading', oid));
      const size = first.results[0]!.size ?? 0;
      const want = Math.max(0, Math.min(length ?? Infinity, size - offset));
      const pieces = [first.results[1]!.data ?? Buffer.alloc(0)];
      let got = pieces[0]!.length;
      let raced = false;
      while (got < want) {
        const n = Math.min(READ_PIECE, want - got);
        try {
          const r = await this.native.readOp(oid, [{ op: 'assert_version', version: first.version }, { op: 'read', offset: offset + got, length: n }]);
          const d = r.results[1]!.data ?? Buffer.alloc(0);
          pieces.push(d);
          got += d.length;
          if (d.length === 0) break;
        } catch (e) {
          const code = errnoOf(e);
          if ((code === 'ERANGE' || code === 'EOVERFLOW') && attempt < MAX_RETRIES) {
            raced = true;
            break;
          }
          return this.fail(e, 'error reading', oid);
        }
      }
      if (!raced) return pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces, got);
    }
  }

  async stat(oid: string): Promise<ObjectStat> {
    this.check(oid);
    return this.native.stat(oid).catch((e: unknown) => this.fail(e, 'error stating', oid));
  }

  async getXattr(oid: string, name: string): Promise<Buffer> {
    return (await this.readOne(oid, { op: 'getxattr', name })).value;
  }

  async getXattrs(oid: string): Promise<Map<string, Buffer>> {
    return (await this.readOne(oid, { op: 'getxattrs' })).xattrs;
  }

  async omapGetVals(oid: string, opts: { after?: string; prefix?: string; max?: number } = {}): Promise<OmapPage> {
    const { entries, more } = await this.readOne(oid, { op: 'omap_get_vals', ...opts });
    return { entries, more };
  }

  async omapGetValsByKeys(oid: string, keys: string[]): Promise<Map<string, Buffer>> {
    return (await this.readOne(oid, { op: 'omap_get_vals_by_keys', keys })).entries;
  }

  async *listObjects(opts: { prefix?: string } = {}): AsyncIterable<string> {
    this.check(null);
    const prefix = opts.prefix ?? '';
    validateText('listObjects prefix', prefix);
    let list;
    try {
      list = this.native.openList();
    } catch (e) {
      return this.fail(e, 'error listing objects in');
    }
    try {
      for (;;) {
        const page = await list.next(1000).catch((e: unknown) => this.fail(e, 'error listing objects in'));
        // librados lists in hash order with no prefix filter: filter here.
        for (const n of page.names) if (n.startsWith(prefix)) yield n;
        if (page.done) return;
      }
    } finally {
      list.close();
    }
  }

  // --- watch/notify and locks ------------------------------------------------------------

  watch(oid: string, cb: WatchCallback, onError?: (e: Error) => void): Promise<WatchHandle> {
    return this.watches.watch(oid, cb, onError);
  }

  notify(oid: string, payload: Uint8Array, timeoutMs = DEFAULT_NOTIFY_TIMEOUT_MS): Promise<NotifyResult> {
    return this.watches.notify(oid, payload, timeoutMs);
  }

  listWatchers(oid: string): Promise<WatcherInfo[]> {
    return this.watches.listWatchers(oid);
  }

  lockExclusive(oid: string, name: string, cookie: string, opts: LockOptions & { tag?: string } = {}): Promise<void> {
    return this.locks.lock(oid, name, cookie, true, opts.tag ?? '', opts);
  }

  lockShared(oid: string, name: string, cookie: string, tag: string, opts: LockOptions = {}): Promise<void> {
    return this.locks.lock(oid, name, cookie, false, tag, opts);
  }

  unlock(oid: string, name: string, cookie: string): Promise<void> {
    return this.locks.unlock(oid, name, cookie);
  }

  breakLock(oid: string, name: string, instanceId: string, cookie: string): Promise<void> {
    return this.locks.breakLock(oid, name, instanceId, cookie);
  }

  getLockInfo(oid: string, name: string): Promise<LockInfo> {
    return this.locks.info(oid, name);
  }

  /** Closes the watches opened through it, then the ioctx (after its in-flight ops). */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.watches.closeAll();
    this.closed = true;
    await this.native.close();
    this.onClose();
  }
}
