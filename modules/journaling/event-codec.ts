/**
 * Entry payloads: `u32 head_len │ head JSON │ data` (see schemas/journal-events.ts), and the
 * conversion between the images service's `WriteEvent` and a journal event.
 */
import type { JournalEventHead } from '../../schemas/journal-events.js';
import type { WriteEvent } from '../rbd/api.js';

/** A decoded payload: the head, plus the data of a `write`. */
export interface JournalEvent {
  head: JournalEventHead;
  data?: Uint8Array;
}

export function encodeEvent(head: JournalEventHead, data?: Uint8Array): Buffer {
  const json = Buffer.from(JSON.stringify(head));
  const out = Buffer.allocUnsafe(4 + json.length + (data?.length ?? 0));
  out.writeUInt32LE(json.length, 0);
  json.copy(out, 4);
  if (data) out.set(data, 4 + json.length);
  return out;
}

const TYPES: Record<string, readonly string[]> = {
  write: ['offset', 'length'],
  discard: ['offset', 'length'],
  write_zeroes: ['offset', 'length'],
  flush: [],
  resize: ['size', 'old_size'],
  update_features: ['features', 'old_features', 'new_features'],
  snap_create: [],
  snap_remove: [],
  demote: [],
  promote: [],
};

/** Decodes and checks a payload; a payload that passed its CRC but makes no sense is an error. */
export function decodeEvent(payload: Uint8Array): { ok: true; event: JournalEvent } | { ok: false; message: string } {
  const buf = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  if (buf.length < 4) return { ok: false, message: 'payload shorter than its head length' };
  const len = buf.readUInt32LE(0);
  if (4 + len > buf.length) return { ok: false, message: 'event head runs past the payload' };
  let head: Record<string, unknown>;
  try {
    head = JSON.parse(buf.subarray(4, 4 + len).toString('utf8')) as Record<string, unknown>;
  } catch {
    return { ok: false, message: 'event head is not JSON' };
  }
  const fields = typeof head.type === 'string' ? TYPES[head.type] : undefined;
  if (!fields) return { ok: false, message: `unknown event type ${JSON.stringify(head.type)}` };
  for (const f of [...fields, 'timestamp']) {
    if (!Number.isSafeInteger(head[f]) || (head[f] as number) < 0) return { ok: false, message: `${head.type} event has a bad '${f}'` };
  }
  const data = buf.subarray(4 + len);
  if (head.type === 'write') {
    if (data.length !== head.length) return { ok: false, message: `write event carries ${data.length} bytes, not ${String(head.length)}` };
    return { ok: true, event: { head: head as JournalEventHead, data } };
  }
  if (data.length !== 0) return { ok: false, message: `${head.type} event carries unexpected data` };
  return { ok: true, event: { head: head as JournalEventHead } };
}

/**
 * The journal events for one write-path event: writes split at `maxPayload` data bytes
 * (librbd's rbd_journal_max_payload_bytes). `undefined` for events the journal does not
 * record (a change of the journaling feature itself is the journal's creation or removal).
 */
export function toJournalEvents(ev: WriteEvent, maxPayload: number, now = Date.now()): Array<{ head: JournalEventHead; data?: Uint8Array }> | undefined {
  switch (ev.type) {
    case 'write': {
      const out: Array<{ head: JournalEventHead; data: Uint8Array }> = [];
      for (let o = 0; o < ev.length || (o === 0 && ev.length === 0); o += maxPayload) {
        const n = Math.min(maxPayload, ev.length - o);
        out.push({ head: { type: 'write', offset: ev.offset + o, length: n, timestamp: now }, data: ev.data.subarray(o, o + n) });
        if (n === 0) break;
      }
      return out;
    }
    case 'discard':
    case 'write_zeroes':
      return [{ head: { type: ev.type, offset: ev.offset, length: ev.length, timestamp: now } }];
    case 'flush':
      return [{ head: { type: 'flush', timestamp: now } }];
    case 'resize':
      return [{ head: { type: 'resize', size: ev.size, old_size: ev.oldSize, timestamp: now } }];
    case 'update_features':
      if ((ev.features & JOURNALING_BIT) !== 0) return undefined;
      return [{ head: { type: 'update_features', features: ev.features, enabled: ev.enabled, old_features: ev.oldFeatures, new_features: ev.newFeatures, timestamp: now } }];
  }
}

/** The write-path event that replays a journal event; `undefined` for markers (flush, ownership). */
export function toWriteEvent(e: JournalEvent): WriteEvent | undefined {
  const h = e.head;
  switch (h.type) {
    case 'write': return { type: 'write', offset: h.offset, length: h.length, data: e.data ?? new Uint8Array(0) };
    case 'discard': return { type: 'discard', offset: h.offset, length: h.length };
    case 'write_zeroes': return { type: 'write_zeroes', offset: h.offset, length: h.length };
    case 'resize': return { type: 'resize', size: h.size, oldSize: h.old_size };
    case 'update_features': return { type: 'update_features', features: h.features, enabled: h.enabled, oldFeatures: h.old_features, newFeatures: h.new_features };
    default: return undefined;
  }
}

/** Ceph's feature bit for journaling (include/rbd/features.h). */
export const JOURNALING_BIT = 64;
export const EXCLUSIVE_LOCK_BIT = 4;
