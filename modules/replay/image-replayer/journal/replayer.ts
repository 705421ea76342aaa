/**
 * Journal-mode replay of one image (rbd-mirror's `image_replayer/journal/Replayer`).
 *
 * @verbatim
 *  init: OPEN_REMOTE_JOURNAL -> OPEN_LOCAL_IMAGE (replay handle) -> READ_CLIENT_POSITION
 *        -> WATCH_REMOTE_JOURNAL -> schedule
 *
 *  schedule (journal notify; a slow safety timer)
 *     |
 *     v
 *  PREPARE_BATCH: cursor.take (fetch: read + decode in a worker, if none) <-----+
 *     |   (nothing new)                                                         |
 *     +------------> idle                                                       |
 *     v                                                                         |
 *  PLAN (worker: overlapping/adjacent ranged events -> non-overlapping ops)     |
 *     |  while the next batches are prepared (read-ahead, 1 or 2 batches)        |
 *     v                                                                         |
 *  APPLY_BATCH (ops at once, one per data object; a barrier alone) * * *> <error> |
 *     |  up to APPLY_DEPTH batches at once, never past a flush or a barrier     |
 *     |                                                                         |
 *     v                                                                         |
 *  COMMIT_POSITION (once per batch, on the primary's journal) ------------------+
 *
 *  (failover) idle: the peer's last tag is <orphan> right after our position -> stopReason
 *  'demoted' (the image replayer tags the replica <orphan> and shuts this down); idle for
 *  IDLE_RELEASE_MS -> the replica's handle is closed (lock released) until the next batch,
 *  which takes the lock again and checks the replica's journal is still the peer's ->
 *  otherwise stopReason 'force promoted', nothing applied.
 * @endverbatim
 *
 * A batch is a run of writes/discards/write_zeroes (at most BATCH events or BATCH_BYTES, up
 * to and including a flush), or one barrier event (resize, feature change) alone: every
 * committed position is a point where the replica is at one size, so re-applying the batch
 * after a crash lands the same. The replica's own journal logs nothing of this (its handle
 * is a replay handle, rbd-mirror's append-disabled policy): the primary's journal is the log.
 * The primary journal notifies its watchers after appends, commits and header changes
 * (coalesced, at most one per 20 ms); a slow timer backs the watch up.
 */
import type { Cluster, WatchHandle } from '../../../../host/index.js';
import type { CommitPosition, EntryRecord, JournalHandle, ObjectPosition, Tag } from '../../../journaling/journals-service.js';
import type { Image, WriteEvent } from '../../../rbd/api.js';
import type { ReplayDeps } from '../../deps.js';
import type { Replayer } from '../replayer.js';
import { assemble, type PlannedOp, type RangedEvent } from './batch-plan.js';
import { JournalCursor } from './journal-cursor.js';
import { journalFetcher } from './journal-fetch.js';
import { REPLAY_WORKER } from './replay.worker.js';
import { demotionReached } from '../tag-history.js';

/** Events per batch (one worker task, one commit). */
export const BATCH = 512;
/** Data bytes per batch. */
export const BATCH_BYTES = 4 * 1024 * 1024;
/**
 * Batches prepared ahead while one applies: fetch, decode and plan are two worker round trips
 * and two store reads, which one batch's apply did not hide (4 KiB random replay had the main
 * thread idle a fifth of the time). Each costs up to a fetch (2 MiB) of memory.
 */
export const READ_AHEAD = 2;
/** Batches applied at once (see replayAvailable); each holds its data until it is durable. */
export const APPLY_DEPTH = 2;
/**
 * Safety net behind the watch: the primary's journal notifies after appends and commits,
 * so this only matters when a notify is lost (peer reconnecting, a writer that died).
 * `RBDM_REPLAY_POLL_MS` overrides it (tests set it huge to show replay needs no poll).
 */
export const POLL_MS = Number(process.env.RBDM_REPLAY_POLL_MS) > 0 ? Number(process.env.RBDM_REPLAY_POLL_MS) : 5000;
/**
 * (failover) Idle this long, the replica's handle is closed, releasing its exclusive lock, so
 * a `promote --force` there can take it (there is no cooperative lock hand-over).
 */
const IDLE_RELEASE_MS = 1_000;

/** (failover) Why replay stopped by itself: the peer's demotion was consumed, or this image was promoted. */
export type ReplayStopReason = 'demoted' | 'force promoted';

export interface JournalReplayerInput {
  remote: Cluster;
  pool: string;
  remoteImageId: string;
  localImageId: string;
  /** This site's client id on the primary's journal: the local pool's mirror uuid. */
  clientId: string;
  /** Told after every applied batch and on failure. */
  onChange: () => void;
  /**
   * (failover) The owner the local journal's last tag must have while this replays (the
   * peer's mirror uuid); checked each time the lock is taken. Otherwise: `force promoted`.
   */
  localOwner?: string;
}

/** The write-path event that replays a journal entry; `undefined` for markers (flush, ownership). */
export function toWriteEvent(e: EntryRecord): WriteEvent | undefined {
  const h = e.event as Record<string, number | boolean | string>;
  switch (e.event.type) {
    case 'write': return { type: 'write', offset: h.offset as number, length: h.length as number, data: e.data ?? new Uint8Array(0) };
    case 'discard': return { type: 'discard', offset: h.offset as number, length: h.length as number };
    case 'write_zeroes': return { type: 'write_zeroes', offset: h.offset as number, length: h.length as number };
    case 'resize': return { type: 'resize', size: h.size as number, oldSize: h.old_size as number };
    case 'update_features':
      return { type: 'update_features', features: h.features as number, enabled: h.enabled as boolean, oldFeatures: h.old_features as number, newFeatures: h.new_features as number };
    case 'snap_create':
    case 'snap_remove':
      throw new Error(`journal holds a ${e.event.type} event: images do not support snapshots yet`);
    default: return undefined;
  }
}

/** The commit position after `p`: one position per splay offset, most recent first. */
export function advance(pos: CommitPosition, p: ObjectPosition, splayWidth: number): CommitPosition {
  return [p, ...pos.filter((q) => q.objectNumber % splayWidth !== p.objectNumber % splayWidth)].slice(0, splayWidth);
}

const fmtPos = (p: ObjectPosition | undefined) => ({ entry_tid: p?.entryTid ?? 0, object_number: p?.objectNumber ?? 0, tag_tid: p?.tagTid ?? 0 });

interface Batch {
  entries: EntryRecord[];
  /** Non-overlapping operations of a ranged run, or the one barrier event. */
  ops: WriteEvent[];
  bytes: number;
}

const RANGED = new Set(['write', 'discard', 'write_zeroes']);

/** A batch of one barrier event (resize, feature change): applied alone. */
const isBarrier = (batch: Batch) => batch.ops.length === 1 && !RANGED.has(batch.ops[0]!.type);

export class JournalReplayer implements Replayer {
  private journal: JournalHandle | undefined;
  private image: Image | undefined;
  private cursor: JournalCursor | undefined;
  private watch: WatchHandle | undefined;
  private timer: NodeJS.Timeout | undefined;
  private position: CommitPosition = [];
  private primary: ObjectPosition | undefined;
  private splayWidth = 1;
  private pending = false;
  private running: Promise<void> | undefined;
  /** Batches prepared ahead, in order, not applied yet (kept across idle periods); each starts after the one before. */
  private ahead: Array<Promise<Batch>> = [];
  private stopped = false;
  private err: Error | undefined;
  private stopWhy: ReplayStopReason | undefined;
  /** (failover) The peer's `<orphan>` tag once its demotion is consumed. */
  private demotionTag: Tag | undefined;
  private lastApplied = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  private rate = { since: Date.now(), entries: 0, bytes: 0, eps: 0, bps: 0 };

  constructor(private readonly d: ReplayDeps, private readonly in_: JournalReplayerInput) {}

  get error(): Error | undefined {
    return this.err;
  }

  /** (failover) Set once replay stopped by itself (see `ReplayStopReason`). */
  get stopReason(): ReplayStopReason | undefined {
    return this.stopWhy;
  }

  /** (failover) The peer's demotion tag, when `stopReason` is `demoted`. */
  get demotion(): Tag | undefined {
    return this.demotionTag;
  }

  async init(): Promise<void> {
    this.journal = await this.d.journals.open(this.in_.remote, this.in_.pool, this.in_.remoteImageId);
    // (failover) The replica's lock is taken now (its own journal replays what a previous
    // holder left unapplied) and checked to be the peer's; released when idle.
    if (!(await this.takeLocalImage())) return;
    const meta = await this.journal.metadata();
    this.splayWidth = meta.splayWidth;
    const client = meta.clients.find((c) => c.id === this.in_.clientId);
    if (!client) throw new Error(`not registered on the primary journal of ${this.in_.pool}/${this.in_.remoteImageId}`);
    this.position = client.commitPosition;
    this.cursor = new JournalCursor(this.journal, journalFetcher(this.journal, this.in_.remote, this.d.pool, this.d.journals.workerFile), this.position);
    this.watch = await this.journal.watch(() => this.schedule(), (e) => this.d.log.warn(`journal watch of ${this.in_.pool}/${this.in_.remoteImageId}: ${e.message}`));
    this.timer = setInterval(() => this.schedule(), POLL_MS);
    this.schedule();
  }

  isReplaying(): boolean {
    return !this.stopped && !this.err && !this.stopWhy;
  }

  getStatus(): string {
    const now = Date.now();
    const secs = (now - this.rate.since) / 1000;
    if (secs >= 1) {
      this.rate = { since: now, entries: 0, bytes: 0, eps: this.rate.entries / secs, bps: this.rate.bytes / secs };
    }
    const mine = this.position[0];
    const prim = this.primary ?? mine;
    const behind = prim && mine && prim.tagTid === mine.tagTid ? Math.max(0, prim.entryTid - mine.entryTid) : 0;
    const one = (n: number) => (Number.isInteger(n) ? n.toFixed(1) : String(Math.round(n * 10) / 10));
    return `replaying, {"bytes_per_second":${one(this.rate.bps)},"entries_behind_primary":${behind},"entries_per_second":${one(this.rate.eps)},` +
      `"non_primary_position":${JSON.stringify(fmtPos(mine))},"primary_position":${JSON.stringify(fmtPos(prim))}}`;
  }

  async flush(): Promise<void> {
    this.schedule();
    while (this.running) await this.running;
  }

  async shutDown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.idleTimer) clearTimeout(this.idleTimer);
    while (this.running) await this.running.catch(() => undefined);
    for (const a of this.ahead.splice(0)) await a.catch(() => undefined);
    await this.watch?.close().catch(() => undefined);
    await this.image?.close().catch(() => undefined);
    await this.journal?.close().catch(() => undefined);
  }

  private schedule(): void {
    if (this.stopped || this.err || this.stopWhy) return;
    this.pending = true;
    if (this.running) return;
    this.running = this.loop().finally(() => {
      this.running = undefined;
    });
  }

  private async loop(): Promise<void> {
    while (this.pending && !this.stopped && !this.err && !this.stopWhy) {
      this.pending = false;
      try {
        await this.replayAvailable();
      } catch (e) {
        this.err = e instanceof Error ? e : new Error(String(e));
        this.d.log.error(`replay of ${this.in_.pool}/${this.in_.localImageId} failed: ${this.err.message}`);
        this.in_.onChange();
      }
    }
  }

  /**
   * Applies batches until the journal has nothing more, preparing each next batch meanwhile
   * and applying up to APPLY_DEPTH at once: while one batch's data and commit are synced,
   * the next one's writes go out (the main thread sat idle 45% of 1 MiB replay waiting for
   * the disk). Overlapping writes of two batches still land in journal order (the write
   * path's IoOrder); nothing passes a batch that ends with a flush (the client's writes
   * after it must never land without the ones before it) or a barrier event. Positions are
   * committed in order, each once its batch and every one before it are applied.
   */
  private async replayAvailable(): Promise<void> {
    let commit: Promise<void> = Promise.resolve();
    const applying: Array<{ done: Promise<void>; batch: Batch; fence: boolean }> = [];
    let drained = false;
    const settleOldest = async () => {
      const { done, batch } = applying.shift()!;
      await done;
      for (const e of batch.entries) {
        this.position = advance(this.position, { objectNumber: e.objectNumber, tagTid: e.tagTid, entryTid: e.entryTid }, this.splayWidth);
      }
      this.rate.entries += batch.entries.length;
      this.rate.bytes += batch.bytes;
      const pos = this.position;
      // Commits are chained (in order) and overlap the next batches' applies.
      commit = commit.then(() => this.journal!.commit(this.in_.clientId, pos)).then(() => this.in_.onChange());
    };
    try {
      for (;;) {
        const batch = await (this.ahead.shift() ?? this.prepare());
        if (!batch.entries.length) {
          // Later read-aheads may hold entries (they were taken from the cursor): use them.
          if (this.ahead.length) continue;
          drained = true;
          break;
        }
        if (this.stopped || !(await this.takeLocalImage())) { // (failover) lock + ownership
          this.ahead.unshift(Promise.resolve(batch));
          break;
        }
        if (this.stopped) {
          this.ahead.unshift(Promise.resolve(batch));
          break;
        }
        while (this.ahead.length < READ_AHEAD) {
          const before = this.ahead[this.ahead.length - 1];
          // One prepare at a time: each takes the cursor's next entries.
          const next = before ? before.then(() => this.prepare()) : this.prepare();
          // Keep a rejected read-ahead from going unhandled while this batch applies.
          next.catch(() => undefined);
          this.ahead.push(next);
        }
        const barrier = isBarrier(batch);
        while (applying.length && (barrier || applying.length >= APPLY_DEPTH || applying[applying.length - 1]!.fence)) await settleOldest();
        const done = this.apply(batch);
        // Awaited in order by settleOldest; a failure meanwhile must not go unhandled.
        done.catch(() => undefined);
        applying.push({ done, batch, fence: barrier || batch.entries[batch.entries.length - 1]!.event.type === 'flush' });
      }
      while (applying.length) await settleOldest();
    } finally {
      // Left only after a failure: let them finish (their positions are not committed).
      for (const a of applying.splice(0)) await a.done.catch(() => undefined);
      await commit;
    }
    if (drained) this.idle();
  }

  /**
   * (failover) Opens the replica and takes its exclusive lock if not held; while we hold it
   * nobody can promote the replica, so the ownership check here stays true until we let go.
   * @returns false (and stops, `force promoted`) when the replica's journal changed owner.
   */
  private async takeLocalImage(): Promise<boolean> {
    this.lastApplied = Date.now();
    if (this.image) return true;
    const img = await this.d.images.openImageById(this.d.local, this.in_.pool, this.in_.localImageId, { purpose: 'replay' });
    try {
      await img.flush();
      if (this.in_.localOwner !== undefined) {
        const j = await this.d.journals.open(this.d.local, this.in_.pool, this.in_.localImageId);
        let owner: string | undefined;
        try {
          const tags = (await j.metadata()).tags;
          owner = tags[tags.length - 1]?.data.mirrorUuid;
        } finally {
          await j.close();
        }
        if (owner !== this.in_.localOwner) {
          await img.close();
          this.stopWhy = 'force promoted';
          this.d.log.info(`replay of ${this.in_.pool}/${this.in_.localImageId}: the replica's journal is owned by '${owner}' now (promoted), replay stops`);
          this.in_.onChange();
          return false;
        }
      }
    } catch (e) {
      await img.close().catch(() => undefined);
      throw e;
    }
    this.image = img;
    return true;
  }

  /** (failover) Nothing left to apply: a consumed demotion stops replay; otherwise let go of the lock soon. */
  private idle(): void {
    const t = demotionReached(this.cursor?.meta?.tags ?? [], this.position);
    if (t) {
      this.demotionTag = t;
      this.stopWhy = 'demoted';
      this.d.log.info(`replay of ${this.in_.pool}/${this.in_.localImageId}: the peer image was demoted, replay stops`);
      this.in_.onChange();
      return;
    }
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      if (this.running || !this.image || Date.now() - this.lastApplied < IDLE_RELEASE_MS) return;
      const img = this.image;
      this.image = undefined;
      void img.close().catch((e: Error) => this.d.log.warn(`closing ${this.in_.pool}/${this.in_.localImageId}: ${e.message}`));
    }, IDLE_RELEASE_MS);
  }

  /** The next batch: entries in order (fetching when none are pending), planned in a worker. */
  private async prepare(): Promise<Batch> {
    const cursor = this.cursor!;
    let entries = this.takeBatch();
    // A fetch reads at most FETCH_BUDGET: after a restart it may hold only entries already
    // applied (the set is read from its start), so read on while reads bring entries.
    while (!entries.length && !this.stopped) {
      const got = await cursor.fetch();
      this.notePrimary();
      entries = this.takeBatch();
      if (!got) break;
    }
    if (this.stopped && !entries.length) return { entries: [], ops: [], bytes: 0 };
    const bytes = entries.reduce((n, e) => n + (e.data?.length ?? 0), 0);
    const events = entries.map(toWriteEvent).filter((e): e is WriteEvent => e !== undefined);
    if (events.length && !RANGED.has(events[0]!.type)) return { entries, ops: events, bytes };
    if (!events.length) return { entries, ops: [], bytes };
    // Extents only go to the planner; the bytes stay here (views into the fetched objects).
    const ranged = (events as Array<RangedEvent & { data?: Uint8Array }>).map((e): RangedEvent => ({ type: e.type, offset: e.offset, length: e.length }));
    const r = await this.d.pool.run<{ ok: true; value: PlannedOp[] } | { ok: false; code: string; message: string }>(
      { events: ranged }, { filename: REPLAY_WORKER, name: 'planReplayBatch' });
    if (!r.ok) throw Object.assign(new Error(r.message), { code: r.code });
    const payloads = events.map((e) => (e.type === 'write' ? e.data : undefined));
    const ops = r.value.map((op): WriteEvent => (op.type === 'write'
      ? { type: 'write', offset: op.offset, length: op.length, data: assemble(op.parts, payloads) }
      : op));
    return { entries, ops, bytes };
  }

  /**
   * A ranged run up to BATCH events / BATCH_BYTES, or one barrier event; markers ride along,
   * and a flush ends the run: a batch's operations apply in parallel, so a crash leaves
   * some of them, and only writes the client did not flush yet may be lost that way.
   */
  private takeBatch(): EntryRecord[] {
    let bytes = 0;
    let ranged = false;
    return this.cursor!.take((e, taken) => {
      if (taken.length >= BATCH || bytes >= BATCH_BYTES) return 'stop';
      if (e.event.type === 'flush') return 'last';
      const ev = toWriteEvent(e);
      if (ev && !RANGED.has(ev.type)) return ranged ? 'stop' : 'last';
      if (ev) ranged = true;
      bytes += e.data?.length ?? 0;
      return 'take';
    });
  }

  private notePrimary(): void {
    const meta = this.cursor!.meta;
    const newest = this.cursor!.newest;
    const imageClient = meta?.clients.find((c) => c.id === '')?.commitPosition[0];
    this.primary = [newest, imageClient, this.primary, this.position[0]].filter((p): p is ObjectPosition => p !== undefined)
      .map((p) => ({ objectNumber: p.objectNumber, tagTid: p.tagTid, entryTid: p.entryTid }))
      .sort((a, b) => b.tagTid - a.tagTid || b.entryTid - a.entryTid)[0];
  }

  /**
   * Applies one batch: a ranged run's operations (they do not overlap) as one submission,
   * writes to one data object as one compound operation; a barrier event alone.
   */
  private async apply(batch: Batch): Promise<void> {
    const img = this.image!;
    if (isBarrier(batch)) await img.apply(batch.ops[0]!);
    else if (batch.ops.length) await img.applyDisjoint(batch.ops);
  }
}
