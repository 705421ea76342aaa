/**
 * Journal-mode replay of one image (rbd-mirror's `image_replayer/journal/Replayer`).
 *
 * @verbatim
 *  init: OPEN_REMOTE_JOURNAL -> OPEN_LOCAL_IMAGE (replay handle) -> READ_CLIENT_POSITION
 *        -> WATCH_REMOTE_JOURNAL -> schedule
 *
 *  schedule (journal watch, timer)
 *     |
 *     v
 *  READ_ENTRIES (after the commit position, at most BATCH) <-------+
 *     |   (none)                                                 |
 *     +----------> idle                                          |
 *     v                                                          |
 *  APPLY_ENTRIES (Image.apply, in order)  * * *> <error> stopped |
 *     |                                                          |
 *     v                                                          |
 *  COMMIT_POSITION (on the primary's journal) ---- full batch ---+
 * @endverbatim
 *
 * The primary journal notifies its watchers after appends, commits and header changes
 * (coalesced, at most one per 20 ms); a slow timer backs the watch up.
 */
import type { Cluster, WatchHandle } from '../../../../host/index.js';
import type { CommitPosition, EntryRecord, JournalHandle, ObjectPosition } from '../../../journaling/journals-service.js';
import type { Image, WriteEvent } from '../../../rbd/api.js';
import type { ReplayDeps } from '../../deps.js';
import type { Replayer } from '../replayer.js';

const BATCH = 256;
/**
 * Safety net behind the watch: the primary's journal notifies after appends and commits,
 * so this only matters when a notify is lost (peer reconnecting, a writer that died).
 * `RBDM_REPLAY_POLL_MS` overrides it (tests set it huge to show replay needs no poll).
 */
export const POLL_MS = Number(process.env.RBDM_REPLAY_POLL_MS) > 0 ? Number(process.env.RBDM_REPLAY_POLL_MS) : 5000;

export interface JournalReplayerInput {
  remote: Cluster;
  pool: string;
  remoteImageId: string;
  localImageId: string;
  /** This site's client id on the primary's journal: the local pool's mirror uuid. */
  clientId: string;
  /** Told after every applied batch and on failure. */
  onChange: () => void;
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

export class JournalReplayer implements Replayer {
  private journal: JournalHandle | undefined;
  private image: Image | undefined;
  private watch: WatchHandle | undefined;
  private timer: NodeJS.Timeout | undefined;
  private position: CommitPosition = [];
  private primary: ObjectPosition | undefined;
  private splayWidth = 1;
  private pending = false;
  private running: Promise<void> | undefined;
  private stopped = false;
  private err: Error | undefined;
  private rate = { since: Date.now(), entries: 0, bytes: 0, eps: 0, bps: 0 };

  constructor(private readonly d: ReplayDeps, private readonly in_: JournalReplayerInput) {}

  get error(): Error | undefined {
    return this.err;
  }

  async init(): Promise<void> {
    this.journal = await this.d.journals.open(this.in_.remote, this.in_.pool, this.in_.remoteImageId);
    this.image = await this.d.images.openImageById(this.d.local, this.in_.pool, this.in_.localImageId, { purpose: 'replay' });
    const meta = await this.journal.metadata();
    this.splayWidth = meta.splayWidth;
    const client = meta.clients.find((c) => c.id === this.in_.clientId);
    if (!client) throw new Error(`not registered on the primary journal of ${this.in_.pool}/${this.in_.remoteImageId}`);
    this.position = client.commitPosition;
    this.watch = await this.journal.watch(() => this.schedule(), (e) => this.d.log.warn(`journal watch of ${this.in_.pool}/${this.in_.remoteImageId}: ${e.message}`));
    this.timer = setInterval(() => this.schedule(), POLL_MS);
    this.schedule();
  }

  isReplaying(): boolean {
    return !this.stopped && !this.err;
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
    while (this.running) await this.running.catch(() => undefined);
    await this.watch?.close().catch(() => undefined);
    await this.image?.close().catch(() => undefined);
    await this.journal?.close().catch(() => undefined);
  }

  private schedule(): void {
    if (this.stopped || this.err) return;
    this.pending = true;
    if (this.running) return;
    this.running = this.loop().finally(() => {
      this.running = undefined;
    });
  }

  private async loop(): Promise<void> {
    while (this.pending && !this.stopped && !this.err) {
      this.pending = false;
      try {
        const n = await this.replayBatch();
        if (n === BATCH) this.pending = true;
      } catch (e) {
        this.err = e instanceof Error ? e : new Error(String(e));
        this.d.log.error(`replay of ${this.in_.pool}/${this.in_.localImageId} failed: ${this.err.message}`);
        this.in_.onChange();
      }
    }
  }

  private async replayBatch(): Promise<number> {
    const r = await this.journal!.read(this.position.length ? this.position : undefined, { maxEntries: BATCH });
    const last = r.entries[r.entries.length - 1];
    const imageClient = r.meta.clients.find((c) => c.id === '')?.commitPosition[0];
    this.primary = [last, imageClient, this.primary].filter((p): p is ObjectPosition => p !== undefined)
      .sort((a, b) => b.tagTid - a.tagTid || b.entryTid - a.entryTid)[0];
    if (!r.entries.length) return 0;
    for (const e of r.entries) {
      if (this.stopped) break;
      const ev = toWriteEvent(e);
      if (ev) await this.image!.apply(ev);
      this.position = advance(this.position, { objectNumber: e.objectNumber, tagTid: e.tagTid, entryTid: e.entryTid }, this.splayWidth);
      this.rate.entries++;
      this.rate.bytes += e.data?.length ?? 0;
    }
    await this.journal!.commit(this.in_.clientId, this.position);
    this.in_.onChange();
    return r.entries.length;
  }
}
