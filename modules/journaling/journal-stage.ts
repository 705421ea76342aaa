/**
 * The journaling write stage (order 20) of the images service, its create/remove hooks and
 * its `rbd info` section.
 *
 * ```
 *  afterLock        image has journaling? ─▶ ImageJournal.open (policy, replay, new tag)
 *  beforeApply(ev)  replayed event (inside our own replay) ─▶ pass, nothing appended
 *                   enter the handle's IoOrder (overlaps and barriers wait)
 *                   update_features ±journaling ─▶ create / check peers (applied after)
 *                   journaled image, client handle ─▶ append the entries durably (group commit)
 *                   replay handle (mirror replica) ─▶ nothing appended
 *  apply            (the images service)
 *  afterApply       entries completed (ok or failed) ─▶ commit tracker; flush ─▶ commit now
 *                   journaling enabled ─▶ open the new journal; disabled ─▶ remove it
 *  beforeRelease    store the position, trim, close
 * ```
 * Replayed events are recognised through an AsyncLocalStorage set around our own replay
 * calls: they travel through `Image.apply` and the write path like any write, but must not
 * be appended again nor wait behind the client write whose lock acquisition runs the replay.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { errno, type ModuleContext } from '../../host/index.js';
import type { Image, ImageRef, WriteEvent, WriteStage } from '../rbd/api.js';
import { JOURNALING_BIT } from './event-codec.js';
import { IoOrder, type Ticket } from './io-order.js';
import { ImageJournal, standardPrimaryPolicy, type PrimaryPolicy } from './image-journal.js';
import { Journal } from './journal.js';
import type { Appended } from './journal-recorder.js';
import { poolDecode } from './journal-reader.js';
import type { JournalHealth } from './journal-health.js';
import { readSettings } from './settings.js';
import { IMAGE_CLIENT_ID, LOCAL_MIRROR_UUID } from './types.js';

interface HandleState {
  order: IoOrder;
  journal?: ImageJournal;
}

type Token =
  | { kind: 'replay' }
  | { kind: 'io'; ticket: Ticket; appended: Appended[] }
  | { kind: 'enable'; ticket: Ticket }
  | { kind: 'disable'; ticket: Ticket };

const has = (features: number) => (features & JOURNALING_BIT) !== 0;

export class JournalStage implements WriteStage {
  readonly name = 'journaling';
  readonly order = 20;
  private readonly handles = new WeakMap<Image, HandleState>();
  private readonly replaying = new AsyncLocalStorage<Image>();
  private primaryPolicy: PrimaryPolicy = standardPrimaryPolicy;

  constructor(private readonly ctx: ModuleContext, private readonly health: JournalHealth) {}

  /** Replaces the primary decision (image-state's job); returns a function restoring the default. */
  setPrimaryPolicy(p: PrimaryPolicy): () => void {
    this.primaryPolicy = p;
    return () => {
      if (this.primaryPolicy === p) this.primaryPolicy = standardPrimaryPolicy;
    };
  }

  /** The open journal of a lock-holding handle (journal reset uses it). */
  journalOf(img: Image): ImageJournal | undefined {
    return this.handles.get(img)?.journal;
  }

  /**
   * `journal reset`: recreates the journal of a lock-holding handle with the same order,
   * splay width, data pool and owner. Peer clients are gone afterwards (they must resync).
   */
  async resetJournal(img: Image): Promise<void> {
    const st = this.state(img);
    await st.order.idle();
    const old = st.journal;
    if (!old) throw errno('EINVAL', 'ERR_JOURNAL_NOT_OPEN', `image ${img.pool}/${img.name} has no open journal`);
    const meta = await old.journal.read();
    const dataPool = old.journal.dataIo.poolName;
    delete st.journal;
    await old.close();
    await this.removeJournal(img.cluster, img.ioctx, img.id);
    const owner = meta.tags[meta.tags.length - 1]?.data.mirrorUuid ?? LOCAL_MIRROR_UUID;
    await Journal.create(img.cluster, img.ioctx, img.id, { order: meta.order, splayWidth: meta.splayWidth, mirrorUuid: owner, dataPool });
    st.journal = await this.openJournal(img);
  }

  async afterLock(img: Image): Promise<void> {
    const st = this.state(img);
    if (st.journal) return;
    const info = await img.refresh();
    if (!has(info.features)) return;
    st.journal = await this.openJournal(img);
  }

  async beforeApply(img: Image, ev: WriteEvent): Promise<Token> {
    if (this.replaying.getStore() === img) return { kind: 'replay' };
    const st = this.state(img);
    const ticket = st.order.enter(ev);
    try {
      if (ev.type === 'update_features' && (ev.features & JOURNALING_BIT) !== 0) {
        await ticket.ready;
        if (ev.enabled) {
          await this.createJournal(img.cluster, img.ioctx, img.id);
          return { kind: 'enable', ticket };
        }
        await this.checkDisable(img, st);
        return { kind: 'disable', ticket };
      }
      // A replay handle (rbd-mirror's MirrorJournalPolicy: append disabled) logs nothing:
      // the primary's journal is the log, and the peer commit position there, stored only
      // after a batch is applied, is where a crashed replay starts again.
      const appended = st.journal && img.purpose !== 'replay' ? st.journal.append(ev) : Promise.resolve([]);
      const [a] = await Promise.all([appended, ticket.ready]);
      return { kind: 'io', ticket, appended: a };
    } catch (e) {
      ticket.leave();
      throw e;
    }
  }

  async afterApply(img: Image, ev: WriteEvent, token: unknown, error?: Error): Promise<void> {
    const t = token as Token;
    if (t.kind === 'replay') return;
    const st = this.state(img);
    try {
      if (t.kind === 'io') {
        st.journal?.complete(t.appended, error === undefined);
        if (ev.type === 'flush' && !error) await st.journal?.commitNow();
      } else if (t.kind === 'enable') {
        if (error) await this.removeJournal(img.cluster, img.ioctx, img.id);
        else st.journal = await this.openJournal(img);
      } else if (!error) {
        const j = st.journal;
        delete st.journal;
        await j?.close();
        await this.removeJournal(img.cluster, img.ioctx, img.id);
      }
    } finally {
      t.ticket.leave();
    }
  }

  async beforeRelease(img: Image): Promise<void> {
    const st = this.handles.get(img);
    if (!st) return;
    await st.order.idle();
    const j = st.journal;
    delete st.journal;
    await j?.close();
  }

  /** Lifecycle: an image created with journaling gets its journal. */
  async afterCreate(ref: ImageRef): Promise<void> {
    if (has(ref.info.features)) await this.createJournal(ref.cluster, ref.ioctx, ref.info.id);
  }

  /** Lifecycle: removing an image removes its journal (whatever its features say). */
  async beforeRemove(ref: ImageRef): Promise<void> {
    await this.removeJournal(ref.cluster, ref.ioctx, ref.info.id);
  }

  /** Creates a journal with the module's current settings; a leftover one is replaced. */
  async createJournal(cluster: Image['cluster'], io: Image['ioctx'], imageId: string): Promise<void> {
    const s = readSettings(this.ctx);
    await this.removeJournal(cluster, io, imageId);
    await Journal.create(cluster, io, imageId, { order: s.order, splayWidth: s.splayWidth, mirrorUuid: LOCAL_MIRROR_UUID, dataPool: s.journalPool });
  }

  async removeJournal(cluster: Image['cluster'], io: Image['ioctx'], imageId: string): Promise<void> {
    let j: Journal;
    try {
      j = await Journal.open(cluster, io, imageId);
    } catch (e) {
      if ((e as { errno?: string }).errno === 'ENOENT') return;
      throw e;
    }
    try {
      await j.remove();
    } finally {
      await j.close();
    }
    this.health.forget(io.poolName, imageId);
  }

  private async checkDisable(img: Image, st: HandleState): Promise<void> {
    if (readSettings(this.ctx).allowDisableWithPeers) return;
    let meta;
    if (st.journal) meta = await st.journal.journal.read();
    else {
      const j = await Journal.open(img.cluster, img.ioctx, img.id).catch(() => undefined);
      meta = await j?.read().finally(() => j.close());
    }
    const peers = (meta?.clients ?? []).filter((c) => c.id !== IMAGE_CLIENT_ID && c.state === 'connected').map((c) => c.id);
    if (peers.length) {
      throw errno('EBUSY', 'ERR_JOURNAL_CLIENTS', `cannot disable journaling of ${img.pool}/${img.name}: mirror peer client(s) ${peers.join(', ')} still `
        + `registered and connected; run 'journal client disconnect --client-id ID' first, or set journaling/journal_allow_disable_with_peers true`);
    }
  }

  private openJournal(img: Image): Promise<ImageJournal> {
    const s = readSettings(this.ctx);
    return ImageJournal.open(img, {
      maxPayloadBytes: s.maxPayloadBytes,
      commitAgeMs: s.commitAgeMs,
      notifyUpdates: s.notifyUpdates,
      trim: () => readSettings(this.ctx).trim,
      decode: poolDecode(this.ctx.pool),
      log: this.ctx.log,
      primaryPolicy: (i, tag) => this.primaryPolicy(i, tag),
      onTrim: (i, r) => this.health.update(i.pool, i.name, i.id, r.meta),
      replayApply: (i, ev) => this.replaying.run(i, () => i.apply(ev)),
    });
  }

  private state(img: Image): HandleState {
    let st = this.handles.get(img);
    if (!st) {
      st = { order: new IoOrder() };
      this.handles.set(img, st);
    }
    return st;
  }
}
