/**
 * The host's one piscina pool. Created on first use, so a one-shot CLI command that never
 * offloads work starts no threads, and does not even load piscina; closed on shutdown.
 * Modules never call `new Piscina`.
 */
import { availableParallelism } from 'node:os';
import type { Piscina } from 'piscina';
import type { WorkerPoolHandle } from './module-manifest.js';

export class WorkerPool implements WorkerPoolHandle {
  /** Set once the pool exists; tasks then go straight to it. */
  private pool: Piscina | undefined;
  private creating: Promise<Piscina> | undefined;

  constructor(private readonly opts: { maxThreads?: number; idleTimeoutMs?: number } = {}) {}

  run<T>(task: unknown, o: { filename: string; name: string; transferList?: ArrayBuffer[] }): Promise<T> {
    const opts = { filename: o.filename, name: o.name, ...(o.transferList ? { transferList: o.transferList } : {}) };
    if (this.pool) return this.pool.run(task, opts) as Promise<T>;
    return this.create().then((p) => p.run(task, opts) as Promise<T>);
  }

  private create(): Promise<Piscina> {
    this.creating ??= import('piscina').then(({ Piscina }) => {
      this.pool = new Piscina({
        maxThreads: this.opts.maxThreads ?? Math.max(1, availableParallelism()),
        minThreads: 0,
        idleTimeout: this.opts.idleTimeoutMs ?? 30_000,
        maxQueue: 'auto',
      });
      return this.pool;
    });
    return this.creating;
  }

  get threads(): number {
    return this.pool?.threads.length ?? 0;
  }

  async close(): Promise<void> {
    const p = this.creating;
    this.pool = undefined;
    this.creating = undefined;
    if (p) await (await p).close();
  }
}
