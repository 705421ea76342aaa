/**
 * The host's one piscina pool. Created on first use, so a one-shot CLI command that never
 * offloads work starts no threads; closed on shutdown. Modules never call `new Piscina`.
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import type { WorkerPoolHandle } from './module-manifest.js';

export class WorkerPool implements WorkerPoolHandle {
  private pool: Piscina | undefined;

  constructor(private readonly opts: { maxThreads?: number; idleTimeoutMs?: number } = {}) {}

  run<T>(task: unknown, o: { filename: string; name: string; transferList?: ArrayBuffer[] }): Promise<T> {
    this.pool ??= new Piscina({
      maxThreads: this.opts.maxThreads ?? Math.max(1, availableParallelism()),
      minThreads: 0,
      idleTimeout: this.opts.idleTimeoutMs ?? 30_000,
      maxQueue: 'auto',
    });
    return this.pool.run(task, {
      filename: o.filename,
      name: o.name,
      ...(o.transferList ? { transferList: o.transferList } : {}),
    }) as Promise<T>;
  }

  get threads(): number {
    return this.pool?.threads.length ?? 0;
  }

  async close(): Promise<void> {
    const p = this.pool;
    this.pool = undefined;
    if (p) await p.close();
  }
}
