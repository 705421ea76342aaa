/**
 * Tracks which appended entries have been applied, in tid order, and yields the commit
 * position: the last `splayWidth` entries of the longest fully applied prefix, most recent
 * first (Ceph's ObjectSetPosition). Entries complete out of order (non-overlapping writes
 * run in parallel); the position only moves over a contiguous run, and an entry whose apply
 * failed stops it, so the next lock holder replays that entry.
 */
import type { CommitPosition, ObjectPosition } from './types.js';

export class CommitTracker {
  private readonly done = new Map<number, ObjectPosition | 'failed'>();
  private next = 0;
  private positions: ObjectPosition[];
  private dirty = false;

  /** `start`: the position replay ended at (or the client's stored one). */
  constructor(private readonly splayWidth: number, start: CommitPosition) {
    this.positions = [...start];
  }

  /** A new tag: tids restart at 0. Entries of the old tag still pending are abandoned. */
  resetTag(firstTid = 0): void {
    this.done.clear();
    this.next = firstTid;
  }

  /** Records a replayed entry of an older tag as applied (it is, by construction, next). */
  replayed(p: ObjectPosition): void {
    this.push(p);
  }

  complete(p: ObjectPosition, ok: boolean): void {
    this.done.set(p.entryTid, ok ? p : 'failed');
    for (;;) {
      const d = this.done.get(this.next);
      if (d === undefined || d === 'failed') return;
      this.done.delete(this.next);
      this.next++;
      this.push(d);
    }
  }

  /** The position to store, and whether it changed since the last `taken()`. */
  get position(): CommitPosition {
    return this.positions;
  }

  get changed(): boolean {
    return this.dirty;
  }

  taken(): void {
    this.dirty = false;
  }

  private push(p: ObjectPosition): void {
    this.positions = [p, ...this.positions.filter((q) => q.objectNumber % this.splayWidth !== p.objectNumber % this.splayWidth)]
      .slice(0, this.splayWidth);
    this.dirty = true;
  }
}
