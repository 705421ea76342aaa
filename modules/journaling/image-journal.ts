/**
 * The journal of one open, lock-holding image handle.
 *
 * ```
 *  open (on lock acquisition)
 *    journal header missing ─▶ ENOENT (the image says journaling but has no journal)
 *    read the image client's commit position
 *    client handle: last tag's owner must be primary (policy) ─ no ─▶ EROFS, lock released
 *    replay entries after the position (journaled, never applied) ─ io error ─▶ lock fails
 *    commit the replayed position
 *    client handle: allocate a tag {owner '', predecessor = end of the last epoch}
 *    recorder on the active set
 *  append ─▶ durable entries;  complete ─▶ commit tracker
 *  every commit age / set advance / flush: store the position, trim, health
 *  close: wait for appends, store the position, trim
 * ```
 */
import type { Cluster, IoCtx, Logger } from '../../host/index.js';
import { errno } from '../../host/index.js';
import type { Image, WriteEvent } from '../rbd/api.js';
import { CommitTracker } from './commit-tracker.js';
import { encodeEvent, toJournalEvents, toWriteEvent } from './event-codec.js';
import { Journal } from './journal.js';
import { readJournal, type DecodeRunner } from './journal-reader.js';
import { JournalRecorder, type Appended } from './journal-recorder.js';
import { trimJournal, type TrimPolicy, type TrimResult } from './trimmer.js';
import { IMAGE_CLIENT_ID, LOCAL_MIRROR_UUID, type EntryRecord, type Tag } from './types.js';

/** Decides whether a client handle may write: the later image-state module replaces it. */
export type PrimaryPolicy = (img: Image, lastTag: Tag | undefined) => boolean | Promise<boolean>;

/** Ceph's StandardPolicy: the journal's owner must be this site. */
export const standardPrimaryPolicy: PrimaryPolicy = (_img, lastTag) => lastTag?.data.mirrorUuid === LOCAL_MIRROR_UUID;

export interface ImageJournalSettings {
  maxPayloadBytes: number;
  commitAgeMs: number;
  /** Wake the header's watchers after appends and commits (update-notifier.ts). */
  notifyUpdates?: boolean;
  /** Read at every trim, so a changed bound applies to open journals. */
  trim: () => TrimPolicy;
  decode?: DecodeRunner;
  log?: Logger;
  primaryPolicy: PrimaryPolicy;
  /** Told after every trim, for the health check. */
  onTrim?: (img: Image, r: TrimResult) => void;
  /** Applies a replayed event through the image's write path, marked as replay. */
  replayApply: (img: Image, ev: WriteEvent) => Promise<void>;
}

export class ImageJournal {
  private timer: NodeJS.Timeout | undefined;
  private committing: Promise<void> | undefined;
  private closed = false;

  private constructor(
    private readonly img: Image,
    readonly journal: Journal,
    readonly recorder: JournalRecorder,
    private readonly tracker: CommitTracker,
    private readonly s: ImageJournalSettings,
  ) {}

  static async open(img: Image, s: ImageJournalSettings): Promise<ImageJournal> {
    const journal = await Journal.open(img.cluster as Cluster, img.ioctx as IoCtx, img.id);
    journal.updates.enabled = s.notifyUpdates ?? true;
    try {
      const meta = await journal.read();
      const self = meta.clients.find((c) => c.id === IMAGE_CLIENT_ID);
      if (!self) throw errno('EIO', 'ERR_JOURNAL_CORRUPT', `journal of ${img.pool}/${img.name} has no image client`);
      const lastTag = meta.tags[meta.tags.length - 1];
      if (img.purpose === 'client' && !(await s.primaryPolicy(img, lastTag))) {
        throw errno('EROFS', 'ERR_IMAGE_READ_ONLY', `image ${img.pool}/${img.name}: local image not promoted (journal owner '${lastTag?.data.mirrorUuid ?? '?'}')`);
      }
      const tracker = new CommitTracker(meta.splayWidth, self.commitPosition);
      const { entries } = await readJournal(journal, self.commitPosition.length ? self.commitPosition : undefined, s.decode ? { decode: s.decode } : {});
      const replayed = await replay(img, entries, tracker, s);
      if (tracker.changed) {
        await journal.header.commit(IMAGE_CLIENT_ID, tracker.position);
        tracker.taken();
      }
      let tagTid = lastTag?.tid ?? 0;
      if (img.purpose === 'client') {
        const end = tracker.position[0];
        const tag = await journal.header.allocateTag({
          mirrorUuid: LOCAL_MIRROR_UUID,
          predecessor: {
            mirrorUuid: lastTag?.data.mirrorUuid ?? LOCAL_MIRROR_UUID,
            commitValid: end !== undefined && end.tagTid === lastTag?.tid,
            tagTid: lastTag?.tid ?? 0,
            entryTid: end !== undefined && end.tagTid === lastTag?.tid ? end.entryTid : 0,
          },
        });
        tagTid = tag.tid;
      } else {
        // A replay handle appends in the newest tag, after its last entry; the replayer
        // allocates tags itself (allocateTag of the journals service).
        const inTag = (await readJournal(journal, undefined, s.decode ? { decode: s.decode } : {})).all.filter((e) => e.tagTid === tagTid);
        const startTid = inTag.reduce((m, e) => Math.max(m, e.entryTid + 1), 0);
        tracker.resetTag(startTid);
        const rec = await JournalRecorder.open(journal, tagTid, undefined, startTid);
        return new ImageJournal(img, journal, rec, tracker, s).start(replayed);
      }
      tracker.resetTag();
      let ij: ImageJournal | undefined;
      const rec = await JournalRecorder.open(journal, tagTid, () => ij?.commitSoon());
      ij = new ImageJournal(img, journal, rec, tracker, s);
      return ij.start(replayed);
    } catch (e) {
      await journal.close();
      throw e;
    }
  }

  private start(replayed: number): this {
    if (replayed) this.s.log?.info(`replayed ${replayed} journal entries of ${this.img.pool}/${this.img.name}`);
    this.timer = setInterval(() => this.commitSoon(), this.s.commitAgeMs);
    this.timer.unref();
    return this;
  }

  /** Appends the event's entries; resolves when all are durable. */
  async append(ev: WriteEvent): Promise<Appended[]> {
    const events = toJournalEvents(ev, this.s.maxPayloadBytes);
    if (!events) return [];
    return Promise.all(events.map((e) => this.recorder.append(encodeEvent(e.head, e.data))));
  }

  complete(appended: Appended[], ok: boolean): void {
    for (const a of appended) this.tracker.complete(a, ok);
  }

  /** Stores the commit position if it moved, then trims. */
  commitNow(): Promise<void> {
    this.committing ??= this.doCommit().finally(() => {
      this.committing = undefined;
    });
    return this.committing;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    try {
      await this.recorder.drain();
      await this.committing;
      await this.doCommit();
    } finally {
      await this.journal.close();
    }
  }

  private commitSoon(): void {
    this.commitNow().catch((e: unknown) => this.s.log?.warn(`journal commit of ${this.img.pool}/${this.img.name} failed`, e));
  }

  private async doCommit(): Promise<void> {
    if (this.tracker.changed) {
      const position = this.tracker.position;
      this.tracker.taken();
      await this.journal.header.commit(IMAGE_CLIENT_ID, position);
      this.journal.updates.poke();
    }
    const r = await trimJournal(this.journal, this.s.trim());
    this.s.onTrim?.(this.img, r);
  }
}

/** Applies journaled-but-unapplied entries in order; returns how many. */
async function replay(img: Image, entries: EntryRecord[], tracker: CommitTracker, s: ImageJournalSettings): Promise<number> {
  for (const e of entries) {
    const type = e.event.type;
    if (type === 'snap_create' || type === 'snap_remove') {
      throw errno('ENOTSUP', 'ERR_NOT_SUPPORTED', `journal of ${img.pool}/${img.name} holds a ${type} event: images do not support snapshots yet`);
    }
    const ev = toWriteEvent({ head: e.event as never, ...(e.data ? { data: e.data } : {}) });
    if (ev) {
      try {
        await s.replayApply(img, ev);
      } catch (err) {
        // An op that fails again (a feature already on, a resize already done) was applied
        // before the crash; data events must apply, or the lock is not taken.
        if (ev.type !== 'resize' && ev.type !== 'update_features') throw err;
        s.log?.debug(`replayed ${ev.type} of ${img.pool}/${img.name} failed: ${(err as Error).message}`);
      }
    }
    tracker.replayed({ objectNumber: e.objectNumber, tagTid: e.tagTid, entryTid: e.entryTid });
  }
  return entries.length;
}
