/**
 * The one write path. Every write-like call of every client (bench, import, the library,
 * journal replay) goes through `submit`:
 *
 * ```
 *  submit(event, apply)
 *    │ read-only handle ──────────────────────────────▶ ERR_IMAGE_READ_ONLY
 *    ▼
 *  start: stages' beforeLock ─ throw ─────────────────▶ refused, nothing applied
 *    │    exclusive lock (if the image has the feature) ─ busy ─▶ ERR_IMAGE_BUSY
 *    │    stages' afterLock ─ throw ─▶ release the lock, refused
 *    ▼
 *  stages' beforeApply, ascending order ─ throw ─┐
 *    ▼                                            │
 *  apply (data objects / header) ─ throw ─────────┤
 *    ▼                                            ▼
 *  stages' afterApply, descending order (with the error, if any) ─▶ ack / reject
 * ```
 * `start` runs once per lock acquisition (for images without exclusive-lock, once per open
 * handle, until it succeeds). Stages are the ones registered when the operation starts.
 */
import { err, type Logger } from '../../host/index.js';
import type { Image, WriteEvent, WriteStage } from './api.js';
import type { ExclusiveLock } from './exclusive-lock.js';
import { EXCLUSIVE_LOCK, hasFeature } from './features.js';
import type { ImageHooks } from './hooks.js';

export class WritePath {
  private started = false;
  private starting: Promise<void> | undefined;
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(
    private readonly img: Image,
    private readonly lock: ExclusiveLock,
    private readonly hooks: ImageHooks,
    private readonly log: Logger | undefined,
  ) {}

  submit<T>(event: WriteEvent, apply: () => Promise<T>): Promise<T> {
    return this.track(() => this.run(event, apply));
  }

  /**
   * Several events applied by one `apply` (Image.applyDisjoint): each passes the stages as
   * if it were submitted alone, all at once; if any stage refuses one, nothing is applied
   * and every event's stages unwind with that error.
   */
  submitAll(events: readonly WriteEvent[], apply: () => Promise<unknown>): Promise<void> {
    return this.track(() => this.runAll(events, apply));
  }

  /** Refuses read-only handles; counts the operation in flight (drain, flush) until it settles. */
  private async track<T>(start: () => Promise<T>): Promise<T> {
    if (this.img.readOnly) {
      throw err('ERR_IMAGE_READ_ONLY', `image ${this.img.pool}/${this.img.name} is open read-only`);
    }
    const op = start();
    this.inFlight.add(op);
    try {
      return await op;
    } finally {
      this.inFlight.delete(op);
    }
  }

  /** Resolves when every operation submitted before this call has finished. */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }

  /** A flush event: waits for the writes submitted before it (stores ack durable writes). */
  async flush(): Promise<void> {
    const before = [...this.inFlight];
    await this.submit({ type: 'flush' }, async () => {
      await Promise.allSettled(before);
    });
  }

  /** On close: wait for writes, let stages flush, release the lock. */
  async stop(): Promise<void> {
    await this.drain();
    if (this.starting) await this.starting.catch(() => undefined);
    if (!this.lock.owner && !this.started) return;
    for (const stage of this.hooks.stages.list()) {
      try {
        await stage.beforeRelease?.(this.img);
      } catch (e) {
        this.log?.error(`write stage '${stage.name}' failed before releasing ${this.img.pool}/${this.img.name}`, e);
      }
    }
    this.started = false;
    await this.lock.release();
  }

  private async run<T>(event: WriteEvent, apply: () => Promise<T>): Promise<T> {
    await this.start();
    const ran: Array<{ stage: WriteStage; token: unknown }> = [];
    let result: T;
    try {
      for (const stage of this.hooks.stages.list()) {
        const token = stage.beforeApply ? await stage.beforeApply(this.img, event) : undefined;
        ran.push({ stage, token });
      }
      result = await apply();
    } catch (e) {
      await this.unwind(ran, event, e as Error);
      throw e;
    }
    await this.unwind(ran, event, undefined);
    return result;
  }

  private async runAll(events: readonly WriteEvent[], apply: () => Promise<unknown>): Promise<void> {
    await this.start();
    const stages = this.hooks.stages.list();
    const ran = events.map(() => [] as Array<{ stage: WriteStage; token: unknown }>);
    let failure: { error: unknown } | undefined;
    await Promise.all(events.map(async (event, i) => {
      try {
        for (const stage of stages) {
          const token = stage.beforeApply ? await stage.beforeApply(this.img, event) : undefined;
          ran[i]!.push({ stage, token });
        }
      } catch (e) {
        failure ??= { error: e };
      }
    }));
    if (!failure) {
      try {
        await apply();
      } catch (e) {
        failure = { error: e };
      }
    }
    const error = failure?.error as Error | undefined;
    await Promise.all(events.map((event, i) => this.unwind(ran[i]!, event, error).catch((e: unknown) => {
      failure ??= { error: e };
    })));
    if (failure) throw failure.error;
  }

  private async unwind(ran: Array<{ stage: WriteStage; token: unknown }>, event: WriteEvent, error: Error | undefined): Promise<void> {
    let first: unknown;
    for (let i = ran.length - 1; i >= 0; i--) {
      const { stage, token } = ran[i]!;
      try {
        await stage.afterApply?.(this.img, event, token, error);
      } catch (e) {
        this.log?.error(`write stage '${stage.name}' failed after ${event.type} on ${this.img.pool}/${this.img.name}`, e);
        first ??= e;
      }
    }
    if (error === undefined && first !== undefined) throw first;
  }

  private start(): Promise<void> {
    const needLock = hasFeature(this.img.info.features, EXCLUSIVE_LOCK);
    if (needLock ? this.lock.owner : this.started) return Promise.resolve();
    this.starting ??= this.doStart(needLock).finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  private async doStart(needLock: boolean): Promise<void> {
    const stages = this.hooks.stages.list();
    for (const stage of stages) await stage.beforeLock?.(this.img);
    if (needLock) await this.lock.acquire();
    try {
      for (const stage of stages) await stage.afterLock?.(this.img);
    } catch (e) {
      if (needLock) await this.lock.release();
      throw e;
    }
    this.started = true;
  }
}
