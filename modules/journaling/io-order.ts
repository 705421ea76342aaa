/**
 * Keeps one image handle's applies in journal order where order matters: an event waits
 * for the earlier events it overlaps (byte ranges), and barriers (flush, resize, feature
 * changes) wait for everything before them and hold back everything after. Non-overlapping
 * writes still run in parallel. Without this, two concurrent overlapping writes could land
 * in the opposite order of their journal entries, and a replay would not equal the image.
 *
 * Hundreds of events are in flight at once (a replayed batch, an NBD client's queue): entering
 * scans the slots without allocating, leaving is a Set delete, and a slot's `done` promise is
 * only made when a later event has to wait for it.
 */
import type { WriteEvent } from '../rbd/api.js';

interface Slot {
  start: number;
  end: number;
  barrier: boolean;
  done?: Promise<void>;
  resolve?: () => void;
}

export interface Ticket {
  /** Resolves when every earlier event this one depends on has been applied. */
  ready: Promise<void>;
  leave(): void;
}

const READY = Promise.resolve();
const nothing = () => undefined;

export class IoOrder {
  private readonly slots = new Set<Slot>();

  enter(ev: WriteEvent): Ticket {
    const ranged = ev.type === 'write' || ev.type === 'discard' || ev.type === 'write_zeroes';
    const start = ranged ? ev.offset : 0;
    const end = ranged ? ev.offset + ev.length : Infinity;
    const barrier = !ranged;
    let deps: Array<Promise<void>> | undefined;
    for (const s of this.slots) {
      if (barrier || s.barrier || (s.start < end && start < s.end)) (deps ??= []).push(doneOf(s));
    }
    const slot: Slot = { start, end, barrier };
    this.slots.add(slot);
    return {
      ready: !deps ? READY : deps.length === 1 ? deps[0]! : Promise.all(deps).then(nothing),
      leave: () => {
        this.slots.delete(slot);
        slot.resolve?.();
      },
    };
  }

  /** Resolves when everything entered so far has left. */
  async idle(): Promise<void> {
    await Promise.all([...this.slots].map(doneOf));
  }
}

function doneOf(s: Slot): Promise<void> {
  s.done ??= new Promise<void>((r) => {
    s.resolve = r;
  });
  return s.done;
}
