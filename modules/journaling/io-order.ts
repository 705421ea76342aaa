/**
 * Keeps one image handle's applies in journal order where order matters: an event waits
 * for the earlier events it overlaps (byte ranges), and barriers (flush, resize, feature
 * changes) wait for everything before them and hold back everything after. Non-overlapping
 * writes still run in parallel. Without this, two concurrent overlapping writes could land
 * in the opposite order of their journal entries, and a replay would not equal the image.
 */
import type { WriteEvent } from '../rbd/api.js';

interface Slot {
  start: number;
  end: number;
  barrier: boolean;
  done: Promise<void>;
}

export interface Ticket {
  /** Resolves when every earlier event this one depends on has been applied. */
  ready: Promise<void>;
  leave(): void;
}

export class IoOrder {
  private slots: Slot[] = [];

  enter(ev: WriteEvent): Ticket {
    const ranged = ev.type === 'write' || ev.type === 'discard' || ev.type === 'write_zeroes';
    const start = ranged ? ev.offset : 0;
    const end = ranged ? ev.offset + ev.length : Infinity;
    const barrier = !ranged;
    const deps = this.slots.filter((s) => barrier || s.barrier || (s.start < end && start < s.end)).map((s) => s.done);
    let leave!: () => void;
    const slot: Slot = { start, end, barrier, done: new Promise<void>((r) => { leave = r; }) };
    this.slots.push(slot);
    return {
      ready: Promise.all(deps).then(() => undefined),
      leave: () => {
        leave();
        this.slots = this.slots.filter((s) => s !== slot);
      },
    };
  }

  /** Resolves when everything entered so far has left. */
  async idle(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.done));
  }
}
