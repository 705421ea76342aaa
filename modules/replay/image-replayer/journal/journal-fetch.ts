/**
 * How the journal cursor gets entries out of the primary's data objects: byte ranges read
 * and decoded (frames, CRC32C, events), with the bytes read of each range.
 *
 * - `workerFetcher`: one worker task reads and decodes, over the worker's own connection to
 *   the peer (`Cluster.threadConnect`, the embedded backend: its reads are synchronous
 *   SQLite and pread, a quarter of the main thread's replay time when they ran here). The
 *   buffers come back transferred, entry data as views into them.
 * - `mainThreadFetcher`: reads here (librados reads are asynchronous already) and hands the
 *   buffers to a worker to decode, which hands them back.
 */
import type { ThreadConnectSpec, WorkerPoolHandle } from '../../../../host/index.js';
import type { DecodeObjectsResult, DecodeObjectsTask, JournalHandle, ReadDecodeObjectsResult, ReadDecodeObjectsTask, WorkerResult } from '../../../journaling/journals-service.js';

export interface ObjectRange {
  objectNumber: number;
  offset: number;
  length: number;
}

export interface FetchedRanges {
  /** Bytes read of each range, in order (short at an object's end, 0 when it has none). */
  lengths: number[];
  decoded: DecodeObjectsResult;
}

export type Fetcher = (ranges: ObjectRange[]) => Promise<FetchedRanges>;

/** Decodes objects handed over with `transfer` (a worker pool task, or a stand-in in tests). */
export type Decoder = (task: DecodeObjectsTask, transfer: ArrayBuffer[]) => Promise<WorkerResult<DecodeObjectsResult>>;

const EMPTY: DecodeObjectsResult = { entries: [], corrupt: [], torn: [] };

function unwrap<T>(r: WorkerResult<T>): T {
  if (!r.ok) throw Object.assign(new Error(r.message), { code: r.code });
  return r.value;
}

export function mainThreadFetcher(journal: JournalHandle, decode: Decoder): Fetcher {
  return async (ranges) => {
    const data = await Promise.all(ranges.map((r) => journal.readObject(r.objectNumber, r.offset, r.length)));
    // Lengths first: a transferred buffer reads 0 afterwards.
    const lengths = data.map((d) => d.length);
    const transfer: ArrayBuffer[] = [];
    const objects = ranges.flatMap((r, i) => {
      let d = data[i]!;
      if (!d.length) return [];
      // Whole buffers go without a copy; pooled slices are copied.
      if (d.byteOffset !== 0 || d.byteLength !== d.buffer.byteLength || !(d.buffer instanceof ArrayBuffer)) d = Uint8Array.from(d);
      transfer.push(d.buffer as ArrayBuffer);
      return [{ objectNumber: r.objectNumber, data: d }];
    });
    if (!objects.length) return { lengths, decoded: EMPTY };
    return { lengths, decoded: unwrap(await decode({ objects }, transfer)) };
  };
}

export function workerFetcher(journal: JournalHandle, connect: ThreadConnectSpec, pool: WorkerPoolHandle, workerFile: string): Fetcher {
  return async (ranges) => {
    const task: ReadDecodeObjectsTask = {
      connect, pool: journal.dataPool,
      objects: ranges.map((r) => ({ objectNumber: r.objectNumber, oid: journal.objectOid(r.objectNumber), offset: r.offset, length: r.length })),
    };
    return unwrap(await pool.run<WorkerResult<ReadDecodeObjectsResult>>(task, { filename: workerFile, name: 'readDecodeObjects' }));
  };
}

/** The worker's own reads where the peer's connection allows it, else reads here. */
export function journalFetcher(journal: JournalHandle, remote: { threadConnect?: ThreadConnectSpec | undefined }, pool: WorkerPoolHandle, workerFile: string): Fetcher {
  if (remote.threadConnect) return workerFetcher(journal, remote.threadConnect, pool, workerFile);
  return mainThreadFetcher(journal, (task, transferList) =>
    pool.run<WorkerResult<DecodeObjectsResult>>(task, { filename: workerFile, name: 'decodeObjectsInPlace', transferList }));
}
