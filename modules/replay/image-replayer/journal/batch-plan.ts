/**
 * Turns a run of journal events (writes, discards, write_zeroes, in journal order) into the
 * same image change as non-overlapping operations: later events win where they overlap,
 * adjacent writes merge into one, adjacent zeroings of one kind merge. Operations that do not
 * overlap commute, so the caller may apply them all in parallel and the image ends up exactly
 * as after applying the events one by one. Pure: runs in a worker (replay.worker.ts).
 */

export interface RangedEvent {
  type: 'write' | 'discard' | 'write_zeroes';
  offset: number;
  length: number;
  data?: Uint8Array;
}

export type PlannedOp =
  | { type: 'write'; offset: number; length: number; data: Uint8Array }
  | { type: 'discard' | 'write_zeroes'; offset: number; length: number };

interface Piece {
  start: number;
  end: number;
  kind: RangedEvent['type'];
  /** For writes: the bytes of [start, end). */
  data?: Uint8Array;
}

/** Largest merged write (bytes): bounds one store operation. */
export const MAX_MERGED = 4 * 1024 * 1024;

export function planBatch(events: readonly RangedEvent[]): PlannedOp[] {
  // Sorted, non-overlapping pieces; each event cuts away what it covers, then goes in.
  let pieces: Piece[] = [];
  for (const ev of events) {
    if (ev.length === 0) continue;
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
    const piece: Piece = { start, end, kind: ev.type, ...(ev.type === 'write' ? { data: ev.data! } : {}) };
    // Everything left lies wholly before or after the new piece.
    let at = next.findIndex((p) => p.start >= end);
    if (at < 0) at = next.length;
    next.splice(at, 0, piece);
    pieces = next;
  }
  return merge(pieces);
}

function cut(p: Piece, start: number, end: number): Piece {
  return { start, end, kind: p.kind, ...(p.data ? { data: p.data.subarray(start - p.start, end - p.start) } : {}) };
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
      const data = j - i === 1 ? first.data! : concat(pieces.slice(i, j).map((p) => p.data!), end - first.start);
      out.push({ type: 'write', offset: first.start, length: end - first.start, data });
    } else {
      out.push({ type: first.kind, offset: first.start, length: end - first.start });
    }
    i = j;
  }
  return out;
}

function concat(parts: Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
