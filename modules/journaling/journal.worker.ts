/**
 * CPU-bound journal work for the host's piscina pool (`ctx.pool.run(task, { filename:
 * JOURNAL_WORKER, name })`): pure functions of plain data that return `WorkerResult`s. The
 * same functions run in-process when no pool is at hand (the CLI's one-shot reads).
 */
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { HostError, threadIoctx } from '../../host/index.js';
import { crc32c } from './crc32c.js';
import { decodeObject, ENTRY_OVERHEAD } from './entry-codec.js';
import { decodeEvent } from './event-codec.js';
import type { Crc32cBatchTask, DecodeObjectsResult, DecodeObjectsTask, EntryRecord, ReadDecodeObjectsTask, WorkerResult } from './types.js';

/** CRC32C (Ceph's convention, seed default 0) of each buffer. */
export function crc32cBatch(task: Crc32cBatchTask): WorkerResult<number[]> {
  try {
    return { ok: true, value: task.buffers.map((b) => crc32c(b, task.seed ?? 0)) };
  } catch (e) {
    return { ok: false, code: 'ERR_INVALID_ARGUMENT', message: (e as Error).message };
  }
}

/**
 * Decodes data objects into entries with their events, verifying every frame's CRC32C and
 * every payload; anything bad is listed in `corrupt` and left out of `entries`.
 */
export function decodeObjects(task: DecodeObjectsTask): WorkerResult<DecodeObjectsResult> {
  return decode(task, true);
}

/**
 * `decodeObjects` for a caller that handed the object buffers over (transferred) and takes
 * them back: each entry's data is a view into its object's buffer, and the buffers are
 * transferred back (piscina's move), so no byte is copied either way. Worker-only.
 */
export function decodeObjectsInPlace(task: DecodeObjectsTask): unknown {
  const r = decode(task, false);
  const buffers = [...new Set(task.objects.map((o) => o.data.buffer))];
  return move({
    get [transferableSymbol]() { return buffers; },
    get [valueSymbol]() { return r; },
  } as never);
}

/**
 * Reads byte ranges of a journal's data objects over this worker's own connection to the
 * journal's cluster (kept for the worker's life) and decodes them like
 * `decodeObjectsInPlace`: the main thread neither reads (embedded reads are synchronous
 * SQLite and pread) nor hands buffers over; the read buffers come back transferred, entry
 * data as views into them. Worker-only.
 */
export async function readDecodeObjects(task: ReadDecodeObjectsTask): Promise<unknown> {
  let data: Uint8Array[];
  try {
    const io = await threadIoctx(task.connect, task.pool);
    data = await Promise.all(task.objects.map((o) => io.read(o.oid, o.offset, o.length).then(
      // A buffer sharing its memory (a pooled slice) would take the rest along: copy it.
      (b): Uint8Array => (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b : Uint8Array.from(b)),
      (e: unknown) => {
        if ((e as { errno?: string }).errno === 'ENOENT') return new Uint8Array(0);
        throw e;
      })));
  } catch (e) {
    const he = HostError.wrap(e);
    return { ok: false, code: he.code, message: he.message } satisfies WorkerResult<never>;
  }
  const objects = task.objects.map((o, i) => ({ objectNumber: o.objectNumber, data: data[i]! })).filter((o) => o.data.length > 0);
  const r = decode({ objects }, false);
  const result: WorkerResult<unknown> = r.ok ? { ok: true, value: { lengths: data.map((d) => d.length), decoded: r.value } } : r;
  const buffers = [...new Set(objects.map((o) => o.data.buffer))];
  return move({
    get [transferableSymbol]() { return buffers; },
    get [valueSymbol]() { return result; },
  } as never);
}

function decode(task: DecodeObjectsTask, copy: boolean): WorkerResult<DecodeObjectsResult> {
  try {
    const out: DecodeObjectsResult = { entries: [], corrupt: [], torn: [] };
    for (const o of task.objects) {
      const d = decodeObject(o.data, o.objectNumber);
      out.corrupt.push(...d.corrupt);
      if (d.tornBytes) out.torn.push({ objectNumber: o.objectNumber, bytes: d.tornBytes });
      for (const e of d.entries) {
        const ev = decodeEvent(e.payload);
        if (!ev.ok) {
          out.corrupt.push({ objectNumber: e.objectNumber, offset: e.offset, tagTid: e.tagTid, entryTid: e.entryTid, reason: ev.message });
          continue;
        }
        const rec: EntryRecord = {
          tagTid: e.tagTid, entryTid: e.entryTid, objectNumber: e.objectNumber, offset: e.offset,
          size: ENTRY_OVERHEAD + e.payload.length, event: ev.event.head,
        };
        // A copy (unless the caller takes the object buffers back), so the record does
        // not pin (or transfer) the whole object buffer.
        if (ev.event.data) rec.data = copy ? Uint8Array.from(ev.event.data) : ev.event.data;
        out.entries.push(rec);
      }
    }
    return { ok: true, value: out };
  } catch (e) {
    return { ok: false, code: 'ERR_INVALID_ARGUMENT', message: (e as Error).message };
  }
}

/** The worker file's URL, for `ctx.pool.run(..., { filename: JOURNAL_WORKER, ... })`. */
export const JOURNAL_WORKER = new URL(import.meta.url).href;
