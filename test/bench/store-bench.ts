/**
 * Store micro-benchmark, for any backend: durable 4 KiB overwrites, 4 MiB full-object
 * writes and omap updates, each at queue depth 1 and 16. Every operation writes distinct
 * bytes (a store may skip rewriting unchanged data, which would measure nothing).
 *
 * @example
 *   const results = await benchStore(cluster, { durationMs: 3000 });
 *   // [{ name: 'write-4k-qd1', opsPerSec: 5210, mibPerSec: 20.4 }, ...]
 */
import { randomBytes } from 'node:crypto';
import type { Cluster, IoCtx } from '../../host/cluster/store.js';

export type StoreWorkload = 'write-4k' | 'write-4m' | 'omap';

export interface StoreBenchOptions {
  /** Pool to use; created (and deleted afterwards) when it does not exist. Default `bench`. */
  pool?: string;
  /** Time budget of each workload at each queue depth. Default 2000 ms. */
  durationMs?: number;
  /** Upper bound on operations of each run. Default unbounded. */
  maxOps?: number;
  /** Default [1, 16]. */
  queueDepths?: number[];
  /** Default all three. */
  workloads?: StoreWorkload[];
}

export interface StoreBenchResult {
  /** `<workload>-qd<depth>`, e.g. `write-4k-qd16`. */
  name: string;
  opsPerSec: number;
  /** Payload bytes per second (data, or omap key + value), in MiB. */
  mibPerSec: number;
}

const KIB = 1024;
const MIB = 1024 * KIB;
/** RBD's default object size; 4 KiB writes land at random 4 KiB offsets in these. */
const OBJECT_SIZE = 4 * MIB;
const OBJECTS = 16;
const OMAP_KEYS = 1024;

interface Workload {
  prepare(io: IoCtx): Promise<void>;
  /** One operation; `n` is unique per run. Returns payload bytes. */
  op(io: IoCtx, n: number): Promise<number>;
}

/** Writes `n` into every 4 KiB of `buf`, so no page of one op equals another op's. */
function stamp(buf: Buffer, n: number): Buffer {
  for (let off = 0; off + 8 <= buf.length; off += 4 * KIB) buf.writeDoubleLE(n, off);
  return buf;
}

function workload(kind: StoreWorkload): Workload {
  switch (kind) {
    case 'write-4k': {
      const base = randomBytes(4 * KIB);
      return {
        async prepare(io) {
          for (let i = 0; i < OBJECTS; i++) await io.writeFull(`bench.4k.${i}`, randomBytes(OBJECT_SIZE));
        },
        async op(io, n) {
          const block = Math.floor(Math.random() * (OBJECT_SIZE / (4 * KIB)));
          await io.write(`bench.4k.${n % OBJECTS}`, stamp(Buffer.from(base), n), block * 4 * KIB);
          return 4 * KIB;
        },
      };
    }
    case 'write-4m': {
      const base = randomBytes(OBJECT_SIZE);
      return {
        async prepare() {},
        async op(io, n) {
          // Each op needs its own buffer: at depth 16 writes are in flight together.
          await io.writeFull(`bench.4m.${n % OBJECTS}`, stamp(Buffer.from(base), n));
          return OBJECT_SIZE;
        },
      };
    }
    case 'omap': {
      const value = randomBytes(64);
      return {
        async prepare() {},
        async op(io, n) {
          const key = `key.${String(n % OMAP_KEYS).padStart(6, '0')}`;
          const v = Buffer.from(value);
          v.writeDoubleLE(n, 0);
          await io.omapSet(`bench.omap.${n % OBJECTS}`, new Map([[key, v]]));
          return key.length + v.length;
        },
      };
    }
  }
}

async function run(io: IoCtx, w: Workload, depth: number, durationMs: number, maxOps: number) {
  let next = 0;
  let bytes = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(durationMs) * 1_000_000n;
  const worker = async () => {
    while (next < maxOps && process.hrtime.bigint() < deadline) {
      const b = await w.op(io, next++);
      bytes += b;
    }
  };
  await Promise.all(Array.from({ length: depth }, worker));
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  return { opsPerSec: next / secs, mibPerSec: bytes / MIB / secs };
}

export async function benchStore(cluster: Cluster, opts: StoreBenchOptions = {}): Promise<StoreBenchResult[]> {
  const poolName = opts.pool ?? 'bench';
  const pools = await cluster.listPools();
  const created = !pools.some((p) => p.name === poolName);
  if (created) await cluster.createPool(poolName);
  const io = await cluster.ioctx(poolName);
  const results: StoreBenchResult[] = [];
  try {
    for (const kind of opts.workloads ?? ['write-4k', 'write-4m', 'omap']) {
      const w = workload(kind);
      await w.prepare(io);
      for (const depth of opts.queueDepths ?? [1, 16]) {
        const r = await run(io, w, depth, opts.durationMs ?? 2000, opts.maxOps ?? Infinity);
        results.push({ name: `${kind}-qd${depth}`, opsPerSec: Math.round(r.opsPerSec), mibPerSec: Math.round(r.mibPerSec * 10) / 10 });
      }
    }
  } finally {
    await io.close();
    if (created) await cluster.deletePool(poolName);
  }
  return results;
}
