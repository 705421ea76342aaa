/**
 * Appends entries to a journal's active object set with group commit.
 *
 * ```
 *  append(payload) ─▶ tid assigned now (call order = journal order), queued
 *        │ queue idle? schedule a flush on the next tick (concurrent appends join it)
 *        ▼
 *  flush: take the whole queue as one batch
 *    place each entry: object = active_set * splay + tid % splay
 *      object full (size + entry > 2^order, and not empty) ─▶ append what is placed,
 *      then active_set + 1 in the header (guarded), go on in the new set
 *    one append per object, all objects in parallel ─ error ─▶ batch rejected; recorder
 *        │                                                      failed (no gaps behind it)
 *        ▼
 *  every entry of the batch resolves ─▶ next batch (entries queued meanwhile)
 * ```
 * Entries are acknowledged only when their whole batch is durable, and batches run one at
 * a time, so every acknowledged entry has all lower tids of its tag durable before it.
 */
import { encodeEntry } from './entry-codec.js';
import type { Journal } from './journal.js';

export interface Appended {
  tagTid: number;
  entryTid: number;
  objectNumber: number;
}

interface Pending {
  frame: Buffer;
  entryTid: number;
  resolve: (a: Appended) => void;
  reject: (e: Error) => void;
}

export class JournalRecorder {
  private queue: Pending[] = [];
  private flushing: Promise<void> | undefined;
  private failed: Error | undefined;
  private nextTid = 0;
  private readonly sizes = new Map<number, number>();
  /** Appended bytes and batches, for tests and the bench. */
  readonly stats = { batches: 0, entries: 0, bytes: 0 };

  private constructor(
    private readonly journal: Journal,
    private tagTid: number,
    private activeSet: number,
    private readonly splayWidth: number,
    private readonly objectSize: number,
    private readonly onSetAdvance: (set: number) => void,
  ) {}

  /** Starts recording in tag `tagTid` (entry tids from `firstTid`), learning the active set's object sizes. */
  static async open(journal: Journal, tagTid: number, onSetAdvance: (set: number) => void = () => undefined, firstTid = 0): Promise<JournalRecorder> {
    const meta = await journal.read();
    const r = new JournalRecorder(journal, tagTid, meta.activeSet, meta.splayWidth, 2 ** meta.order, onSetAdvance);
    r.nextTid = firstTid;
    await r.learnSizes();
    return r;
  }

  get tag(): number {
    return this.tagTid;
  }

  /** Tid of the next entry to be appended. */
  get nextEntryTid(): number {
    return this.nextTid;
  }

  /** Switches to a new tag (after its allocation); entry tids restart at 0. */
  async newTag(tagTid: number): Promise<void> {
    await this.drain();
    this.tagTid = tagTid;
    this.nextTid = 0;
  }

  /** Queues one entry; resolves when it is durable. */
  append(payload: Uint8Array): Promise<Appended> {
    if (this.failed) return Promise.reject(this.failed);
    const entryTid = this.nextTid++;
    const frame = encodeEntry(this.tagTid, entryTid, payload);
    return new Promise<Appended>((resolve, reject) => {
      this.queue.push({ frame, entryTid, resolve, reject });
      this.flushing ??= new Promise<void>((r) => setImmediate(r)).then(() => this.flushLoop());
    });
  }

  /** Resolves when every queued entry is durable (or failed). */
  async drain(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  private async flushLoop(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        try {
          await this.writeBatch(batch);
        } catch (e) {
          // Later tids would sit behind a hole: refuse everything until a new lock epoch.
          this.failed = e as Error;
          for (const p of [...batch, ...this.queue]) p.reject(e as Error);
          this.queue = [];
        }
      }
    } finally {
      this.flushing = undefined;
    }
  }

  private async writeBatch(batch: Pending[]): Promise<void> {
    let i = 0;
    while (i < batch.length) {
      const perObject = new Map<number, Buffer[]>();
      const placed: Array<{ p: Pending; objectNumber: number }> = [];
      let full = false;
      for (; i < batch.length; i++) {
        const p = batch[i]!;
        const objectNumber = this.activeSet * this.splayWidth + (p.entryTid % this.splayWidth);
        const size = this.sizes.get(objectNumber) ?? 0;
        if (size > 0 && size + p.frame.length > this.objectSize) {
          full = true;
          break;
        }
        this.sizes.set(objectNumber, size + p.frame.length);
        const list = perObject.get(objectNumber) ?? [];
        list.push(p.frame);
        perObject.set(objectNumber, list);
        placed.push({ p, objectNumber });
      }
      await Promise.all([...perObject].map(([n, frames]) => this.journal.dataIo.append(this.journal.objectOid(n), Buffer.concat(frames))));
      this.stats.batches++;
      for (const { p, objectNumber } of placed) {
        this.stats.entries++;
        this.stats.bytes += p.frame.length;
        p.resolve({ tagTid: this.tagTid, entryTid: p.entryTid, objectNumber });
      }
      this.journal.updates.poke();
      if (full) await this.advanceSet();
    }
  }

  /** Closes the active set (Ceph: when any of its objects fills, the whole set closes). */
  private async advanceSet(): Promise<void> {
    const next = this.activeSet + 1;
    await this.journal.header.advanceSet('active_set', next);
    this.activeSet = next;
    this.sizes.clear();
    this.onSetAdvance(next);
  }

  private async learnSizes(): Promise<void> {
    await Promise.all(Array.from({ length: this.splayWidth }, async (_, k) => {
      const n = this.activeSet * this.splayWidth + k;
      try {
        this.sizes.set(n, (await this.journal.dataIo.stat(this.journal.objectOid(n))).size);
      } catch (e) {
        if ((e as { errno?: string }).errno !== 'ENOENT') throw e;
      }
    }));
  }
}
