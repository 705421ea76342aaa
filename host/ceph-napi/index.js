// Loads the librados addon (build/Release/ceph_napi.node) and adds small conveniences in
// JS over its compound operations. Importing throws (code ERR_CEPH_NAPI_NOT_BUILT) when the
// addon was not built (no librados-dev at install time).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

let native;
try {
  native = require('./build/Release/ceph_napi.node');
} catch (e) {
  const err = new Error(`ceph-napi: the librados addon is not built (${e.message.split('\n')[0]}); install librados-dev and run npm rebuild ceph-napi`);
  err.code = 'ERR_CEPH_NAPI_NOT_BUILT';
  err.cause = e;
  throw err;
}

export const { Rados, IoCtx, ObjectList, libradosVersion } = native;

/** LIBRADOS_CMPXATTR_OP_*: comparisons of cmpxattr / omap_cmp steps. */
export const CMP = Object.freeze({ eq: 1, ne: 2, gt: 3, gte: 4, lt: 5, lte: 6 });

const P = IoCtx.prototype;

P.getXattrs = async function getXattrs(oid) {
  const { results } = await this.readOp(oid, [{ op: 'getxattrs' }]);
  return new Map(results[0].xattrs);
};
P.getXattr = async function getXattr(oid, name) {
  const all = await this.getXattrs(oid);
  const v = all.get(name);
  if (v === undefined) throw Object.assign(new Error(`getxattr ${oid} ${name}: No data available (-61)`), { errno: -61, code: 'ENODATA' });
  return v;
};
P.setXattr = function setXattr(oid, name, value) {
  return this.writeOp(oid, [{ op: 'setxattr', name, value }]);
};
P.rmXattr = function rmXattr(oid, name) {
  return this.writeOp(oid, [{ op: 'rmxattr', name }]);
};
P.omapGetVals = async function omapGetVals(oid, opts = {}) {
  const { results } = await this.readOp(oid, [{ op: 'omap_get_vals', after: opts.after, prefix: opts.prefix, max: opts.max ?? 1000 }]);
  return { entries: new Map(results[0].entries), more: results[0].more };
};
P.omapGetValsByKeys = async function omapGetValsByKeys(oid, keys) {
  const { results } = await this.readOp(oid, [{ op: 'omap_get_vals_by_keys', keys }]);
  return new Map(results[0].entries);
};
P.omapSet = function omapSet(oid, entries) {
  const e = entries instanceof Map ? [...entries] : Object.entries(entries);
  return this.writeOp(oid, [{ op: 'omap_set', keys: e.map(([k]) => k), values: e.map(([, v]) => v) }]);
};
P.omapRemoveKeys = function omapRemoveKeys(oid, keys) {
  return this.writeOp(oid, [{ op: 'omap_rm', keys }]);
};
P.omapClear = function omapClear(oid) {
  return this.writeOp(oid, [{ op: 'omap_clear' }]);
};
P.truncate = function truncate(oid, size) {
  return this.writeOp(oid, [{ op: 'truncate', size }]);
};
P.zero = function zero(oid, offset, length) {
  return this.writeOp(oid, [{ op: 'zero', offset, length }]);
};
P.exec = async function exec(oid, cls, method, input) {
  const { results } = await this.readOp(oid, [{ op: 'exec', cls, method, input }]);
  return results[0].data;
};
/** Every object name of the pool (default namespace), paged through an ObjectList. */
P.listObjects = async function* listObjects(pageSize = 1000) {
  const list = this.openList();
  try {
    for (;;) {
      const { names, done } = await list.next(pageSize);
      yield* names;
      if (done) return;
    }
  } finally {
    list.close();
  }
};
