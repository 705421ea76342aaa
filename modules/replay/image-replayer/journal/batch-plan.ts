/**
 * Turns a run of journal events (writes, discards, write_zeroes, in journal order) into the
 * same image change as non-overlapping operations: later events win where they overlap,
 * adjacent writes merge into one, adjacent zeroings of one kind merge. Operations that do not
 * overlap commute, so the caller may apply them all in parallel and the image ends up exactly
 * as after applying the events one by one.
 *
 * The plan works on extents only (it runs in a worker, replay.worker.ts, and no payload byte
 * crosses threads for it): a planned write names the parts of events' payloads it is made
 * of, and `assemble` builds its bytes where the payloads are (a view when there is one part).
 */

export interface RangedEvent {
  type: 'write' | 'discard' | 'write_zeroes';
  offset: number;
  length: number;
}

/** Bytes [from, to) of event `event`'s payload. */
export interface PayloadPart {
  event: number;
  from: number;
  to: number;
}

export type PlannedOp =
  | { type: 'write'; offset: number; length: number; parts: PayloadPart[] }
  | { type: 'discard' | 'write_zeroes'; offset: number; length: number };

interface Piece {
  start: number;
  end: number;
  kind: RangedEvent['type'];
  /** For writes: the event and the payload offset of `start`. */
  event: number;
  from: number;
}

/** Largest merged write (bytes): bounds one store operation. */
export const MAX_MERGED = 4 * 1024 * 1024;

export function planBatch(events: readonly RangedEvent[]): PlannedOp[] {
  // Sorted, non-overlapping pieces; each event cuts away what it covers, then goes in.
  let pieces: Piece[] = [];
  events.forEach((ev, index) => {
    if (ev.length === 0) return;
    const start = ev.offset;
    const end = ev.offset + ev.length;
    const next: Piece[] = [];
    for (const p of pieces) {
      if (p.end <= start || p.start >= end) {
        next.push(p);
        continue;
      }
      if (p.start < start) next.push(cut(p, p.start, start));
      if (p.end > end) next.push(cut(p, end, p.end));
    }
    const piece: Piece = { start, end, kind: ev.type, event: index, from: 0 };
    // Everything left lies wholly before or after the new piece.
    let at = next.findIndex((p) => p.start >= end);
    if (at < 0) at = next.length;
    next.splice(at, 0, piece);
    pieces = next;
  });
  return merge(pieces);
}

function cut(p: Piece, start: number, end: number): Piece {
  return { start, end, kind: p.kind, event: p.event, from: p.from + (start - p.start) };
}

function merge(pieces: Piece[]): PlannedOp[] {
  const out: PlannedOp[] = [];
  let i = 0;
  while (i < pieces.length) {
    const first = pieces[i]!;
    let j = i + 1;
    let end = first.end;
    while (j < pieces.length && pieces[j]!.start === end && pieces[j]!.kind === first.kind
      && (first.kind !== 'write' || pieces[j]!.end - first.start <= MAX_MERGED)) {
      end = pieces[j]!.end;
      j++;
    }
    if (first.kind === 'write') {
      const parts = pieces.slice(i, j).map((p) => ({ event: p.event, from: p.from, to: p.from + (p.end - p.start) }));
      out.push({ type: 'write', offset: first.start, length: end - first.start, parts });
    } else {
      out.push({ type: first.kind, offset: first.start, length: end - first.start });
    }
    i = j;
  }
  return out;
}

/** A planned write's bytes from the events' payloads: a view for one part, else one copy. */
export function assemble(parts: readonly PayloadPart[], payloads: ReadonlyArray<Uint8Array | undefined>): Uint8Array {
  const view = (p: PayloadPart) => payloads[p.event]!.subarray(p.from, p.to);
  if (parts.length === 1) return view(parts[0]!);
  const out = new Uint8Array(parts.reduce((n, p) => n + (p.to - p.from), 0));
  let o = 0;
  for (const p of parts) {
    out.set(view(p), o);
    o += p.to - p.from;
  }
  return out;
}
