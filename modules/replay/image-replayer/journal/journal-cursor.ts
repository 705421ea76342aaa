/**
 * Reads a peer's journal incrementally from a commit position (Ceph's JournalPlayer with
 * its ObjectPlayers): each data object is read from where the last fetch stopped, never
 * again from its start, and the bytes are decoded (frames, CRC32C, events) in the worker
 * pool; entries are handed out in replay order by the journal's rules.
 *
 * @verbatim
 *  fetch: READ_HEADER (sets, clients)
 *     -> READ_TAILS of the lowest unfinished set's objects, from their offsets, at most
 *        BUDGET bytes, and DECODE them (the Fetcher: both in a worker, or read here and
 *        decoded in a worker; a torn tail's bytes are read again next time; a set below the
 *        active set, read to its end, is finished: next set)
 *     -> merge into pending (ordered by tag tid, entry tid)
 *  take(max): entries after the last one taken, consecutive within a tag;
 *     a gap waits for the missing entry, unless a later tag exists (then the rest of that
 *     tag was never acknowledged: skipped, as readJournal does)
 * @endverbatim
 */
import type { CommitPosition, EntryRecord, JournalHandle, JournalMetadata, ObjectPosition } from '../../../journaling/journals-service.js';
import type { Fetcher, ObjectRange } from './journal-fetch.js';

/** Bytes read per fetch (all objects together): bounds memory and keeps batches flowing. */
export const FETCH_BUDGET = 2 * 1024 * 1024;

const byTid = (a: EntryRecord, b: EntryRecord) => a.tagTid - b.tagTid || a.entryTid - b.entryTid;

export class JournalCursor {
  /** Bytes of each object already decoded (complete entries). */
  private readonly offsets = new Map<number, number>();
  /** Per object: read size, doubled while one entry does not fit. */
  private readonly want = new Map<number, number>();
  private set: number | undefined;
  private pending: EntryRecord[] = [];
  private last: ObjectPosition | undefined;
  meta: JournalMetadata | undefined;
  /** Frames that failed their CRC or decode: never applied, counted for the log. */
  corrupt = 0;

  constructor(private readonly journal: JournalHandle, private readonly fetcher: Fetcher, from: CommitPosition) {
    this.last = from[0];
  }

  /** The newest entry seen in the journal (for entries behind primary). */
  get newest(): EntryRecord | undefined {
    return this.pending[this.pending.length - 1];
  }

  /** Reads what was appended since the last fetch; false when nothing new arrived. */
  async fetch(): Promise<boolean> {
    const meta = await this.journal.metadata();
    this.meta = meta;
    const splay = meta.splayWidth;
    if (this.set === undefined) this.set = this.last ? Math.floor(this.last.objectNumber / splay) : meta.minimumSet;
    if (this.set < meta.minimumSet) this.set = meta.minimumSet;
    let budget = FETCH_BUDGET;
    let got = false;
    while (budget > 0 && this.set <= meta.activeSet) {
      const numbers = Array.from({ length: splay }, (_, i) => this.set! * splay + i);
      const per = Math.max(64 * 1024, Math.floor(budget / splay));
      const ranges = numbers.map((n): ObjectRange => ({ objectNumber: n, offset: this.offsets.get(n) ?? 0, length: Math.max(per, this.want.get(n) ?? 0) }));
      const { lengths, decoded } = await this.fetcher(ranges);
      budget -= lengths.reduce((s, l) => s + l, 0);
      const drained = lengths.every((l, i) => l < ranges[i]!.length);
      const torn = new Map(decoded.torn.map((x) => [x.objectNumber, x.bytes]));
      ranges.forEach((r, i) => {
        const length = lengths[i]!;
        if (!length) return;
        const t = torn.get(r.objectNumber) ?? 0;
        this.offsets.set(r.objectNumber, r.offset + length - t);
        // One entry larger than the read: read more of it next time.
        if (t === length && length >= r.length) this.want.set(r.objectNumber, r.length * 2);
        else this.want.delete(r.objectNumber);
      });
      this.corrupt += decoded.corrupt.length;
      if (decoded.entries.length) {
        this.pending = this.pending.concat(decoded.entries).sort(byTid);
        got = true;
      }
      if (!drained) continue;
      // A set below the active one is closed: once read to its end, it is done.
      if (this.set < meta.activeSet) {
        for (const n of numbers) {
          this.offsets.delete(n);
          this.want.delete(n);
        }
        this.set++;
        continue;
      }
      break;
    }
    return got;
  }

  /**
   * Entries in replay order while `accept` says so: `take` (and go on), `last` (take it and
   * stop) or `stop` (leave it for the next call).
   */
  take(accept: (e: EntryRecord, taken: readonly EntryRecord[]) => 'take' | 'last' | 'stop'): EntryRecord[] {
    const out: EntryRecord[] = [];
    let i = 0;
    const hasLaterTag = (tag: number) => this.pending.some((e) => e.tagTid > tag);
    while (i < this.pending.length) {
      const e = this.pending[i]!;
      const l = this.last;
      if (l && (e.tagTid < l.tagTid || (e.tagTid === l.tagTid && e.entryTid <= l.entryTid))) {
        i++;
        continue;
      }
      const expect = l && e.tagTid === l.tagTid ? l.entryTid + 1 : l ? 0 : e.entryTid;
      if (e.entryTid !== expect) {
        // A gap: the missing entry may still land, unless a later tag proves its writer gone.
        if (!hasLaterTag(e.tagTid)) break;
        const next = this.pending.findIndex((x) => x.tagTid > e.tagTid);
        i = next;
        this.last = { objectNumber: e.objectNumber, tagTid: this.pending[next]!.tagTid, entryTid: -1 };
        continue;
      }
      const verdict = accept(e, out);
      if (verdict === 'stop') break;
      out.push(e);
      this.last = { objectNumber: e.objectNumber, tagTid: e.tagTid, entryTid: e.entryTid };
      i++;
      if (verdict === 'last') break;
    }
    this.pending = this.pending.slice(i);
    return out;
  }
}
