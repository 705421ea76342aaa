/**
 * Reads a journal's entries in order, from a commit position onwards.
 *
 * Order is (tag tid, entry tid): tags are allocated in time order and entry tids count up
 * within a tag. Within a tag, entries are taken while their tids are consecutive; the
 * first gap ends that tag (the rest was appended by a writer that died before those
 * appends all landed, so none of it was acknowledged) and reading goes on with the next
 * tag. This is what replay (local and remote) applies, so "the image equals a replay of its
 * journal" has one meaning.
 */
import { JOURNAL_WORKER, decodeObjects } from './journal.worker.js';
import type { Journal } from './journal.js';
import type { CorruptEntry } from './entry-codec.js';
import type { CommitPosition, DecodeObjectsResult, DecodeObjectsTask, EntryRecord, JournalMetadata, WorkerResult } from './types.js';

/** Runs a decode in the host's worker pool; without one, in this thread. */
export type DecodeRunner = (task: DecodeObjectsTask) => Promise<WorkerResult<DecodeObjectsResult>>;

export const inlineDecode: DecodeRunner = async (task) => decodeObjects(task);

/** Below this many bytes a thread hop costs more than the decode. */
export const POOL_DECODE_MIN_BYTES = 4 * 1024 * 1024;

/** Decodes big reads in the host's worker pool (replay after a crash, a peer's journal), small ones inline. */
export function poolDecode(pool: { run<T>(task: unknown, o: { filename: string; name: string }): Promise<T> }): DecodeRunner {
  return (task) => {
    const bytes = task.objects.reduce((n, o) => n + o.data.length, 0);
    return bytes < POOL_DECODE_MIN_BYTES ? inlineDecode(task) : pool.run(task, { filename: JOURNAL_WORKER, name: 'decodeObjects' });
  };
}

export interface ReadOptions {
  /** Stop after this many entries (whole object sets are read; extra entries are dropped). */
  maxEntries?: number;
  decode?: DecodeRunner;
}

export interface ReadResult {
  meta: JournalMetadata;
  /** Entries after `from`, in replay order. */
  entries: EntryRecord[];
  corrupt: CorruptEntry[];
  /** Entries present but not replayable: after a gap in their tag (never acknowledged). */
  skipped: EntryRecord[];
  torn: Array<{ objectNumber: number; bytes: number }>;
  /** Every decoded entry, before ordering rules (inspect and export show them). */
  all: EntryRecord[];
}

const byTid = (a: EntryRecord, b: EntryRecord) => a.tagTid - b.tagTid || a.entryTid - b.entryTid;

/** The most recent position of a commit position (Ceph keeps it first). */
export function lastPosition(p: CommitPosition) {
  return p[0];
}

export async function readJournal(j: Journal, from: CommitPosition | undefined, o: ReadOptions = {}): Promise<ReadResult> {
  const meta = await j.read();
  const last = from ? lastPosition(from) : undefined;
  // Entries after `last` can only be in its set or later ones.
  const firstSet = Math.max(meta.minimumSet, last ? Math.floor(last.objectNumber / meta.splayWidth) : 0);
  const numbers: number[] = [];
  for (let s = firstSet; s <= meta.activeSet; s++) for (let i = 0; i < meta.splayWidth; i++) numbers.push(s * meta.splayWidth + i);
  const objects = await j.readObjects(numbers);
  const decode = o.decode ?? inlineDecode;
  const r = await decode({ objects: objects.map((x) => ({ objectNumber: x.objectNumber, data: x.data })) });
  if (!r.ok) throw Object.assign(new Error(r.message), { code: r.code });
  const all = r.value.entries.sort(byTid);
  const entries: EntryRecord[] = [];
  const skipped: EntryRecord[] = [];
  let tag = -1;
  let expect = -1;
  let broken = false;
  let firstTag = true;
  for (const e of all) {
    if (last && (e.tagTid < last.tagTid || (e.tagTid === last.tagTid && e.entryTid <= last.entryTid))) continue;
    if (e.tagTid !== tag) {
      tag = e.tagTid;
      broken = false;
      // A tag after the reader's position starts at tid 0 (trimming never removes entries
      // past a connected client's position); without a position the oldest surviving
      // tag may have lost its head to trimming.
      expect = last && e.tagTid === last.tagTid ? last.entryTid + 1 : !last && firstTag ? e.entryTid : 0;
      firstTag = false;
    }
    if (broken || e.entryTid !== expect) {
      broken = true;
      skipped.push(e);
      continue;
    }
    expect++;
    entries.push(e);
  }
  return {
    meta, entries: o.maxEntries !== undefined ? entries.slice(0, o.maxEntries) : entries,
    corrupt: r.value.corrupt, skipped, torn: r.value.torn, all,
  };
}
