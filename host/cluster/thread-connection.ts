/**
 * Connections a worker thread opens from a `ThreadConnectSpec` (store.ts), kept for the
 * thread's life and shared by its tasks: a task that reads a peer's journal connects once
 * per worker, not once per task. The few most recently used are kept; an older one (its
 * main-thread connection was replaced, a reconnect) is shut down.
 */
import { loadBackend } from './connect.js';
import type { Cluster, IoCtx, ThreadConnectSpec } from './store.js';

const KEEP = 4;

interface Held {
  cluster: Promise<Cluster>;
  ioctxs: Map<string, Promise<IoCtx>>;
}

const held = new Map<string, Held>();

function hold(spec: ThreadConnectSpec): Held {
  const key = JSON.stringify([spec.backend, spec.instanceId, spec.opts]);
  let h = held.get(key);
  if (h) {
    // Most recently used last.
    held.delete(key);
    held.set(key, h);
    return h;
  }
  const cluster = loadBackend(spec.backend).then((b) => b.connect(spec.opts));
  h = { cluster, ioctxs: new Map() };
  held.set(key, h);
  cluster.catch(() => held.delete(key));
  while (held.size > KEEP) {
    const [oldest, old] = held.entries().next().value as [string, Held];
    held.delete(oldest);
    void old.cluster.then((c) => c.shutdown()).catch(() => undefined);
  }
  return h;
}

/** A pool of this thread's connection made the way `spec` says, opened once. */
export function threadIoctx(spec: ThreadConnectSpec, pool: string): Promise<IoCtx> {
  const h = hold(spec);
  let io = h.ioctxs.get(pool);
  if (!io) {
    io = h.cluster.then((c) => c.ioctx(pool));
    io.catch(() => h.ioctxs.delete(pool));
    h.ioctxs.set(pool, io);
  }
  return io;
}
