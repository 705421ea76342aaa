/**
 * The `journals` service: what later modules (image-state, replay, status) get from
 * `ctx.service('journaling', 'journals')`. Journals are opened on any cluster (the replay
 * daemon reads the *remote* cluster's journal and commits its position there).
 */
import { errno, type Cluster, type WatchHandle } from '../../host/index.js';
import type { Image } from '../rbd/api.js';
import { encodeEvent } from './event-codec.js';
import type { PrimaryPolicy } from './image-journal.js';
import { Journal } from './journal.js';
import { readJournal, type ReadResult } from './journal-reader.js';
import type { JournalStage } from './journal-stage.js';
import { JOURNAL_WORKER } from './journal.worker.js';
import type { CommitPosition, JournalClient, JournalMetadata, Tag, TagData } from './types.js';

export type * from './types.js';
export type { ReadResult } from './journal-reader.js';
export type { PrimaryPolicy } from './image-journal.js';

/** An open journal (header + data objects) on some cluster. */
export interface JournalHandle {
  readonly imageId: string;
  readonly headerOid: string;
  readonly objectPrefix: string;
  /** The pool of the data objects (the image's, or the one its journal pool option names). */
  readonly dataPool: string;
  /** The name of data object `objectNumber` (in `dataPool`). */
  objectOid(objectNumber: number): string;
  /** The header: order, splay width, sets, clients with positions and states, tags. */
  metadata(): Promise<JournalMetadata>;
  /** EEXIST when `clientId` is registered; a mirror peer registers with its mirror uuid. */
  registerClient(clientId: string, data?: Record<string, unknown>): Promise<void>;
  /** ENOENT when not registered. */
  unregisterClient(clientId: string): Promise<void>;
  updateClientData(clientId: string, data: Record<string, unknown>): Promise<JournalClient>;
  /** Stores a client's commit position (its state is kept: a disconnected client stays so). */
  commit(clientId: string, position: CommitPosition): Promise<JournalClient>;
  /**
   * Entries after `from` (all surviving ones when undefined), in replay order, every frame
   * CRC-checked; corrupt ones are listed apart and never returned as entries.
   */
  read(from: CommitPosition | undefined, opts?: { maxEntries?: number }): Promise<ReadResult>;
  /**
   * Raw bytes of data object `objectNumber` from `offset` (at most `length`; empty when the
   * object does not exist or ends before). For incremental readers (the mirror daemon's
   * replayer) that decode in the worker pool with `decodeObjects` (or `decodeObjectsInPlace`) of `workerFile`;
   * on a cluster with `threadConnect`, `readDecodeObjects` reads and decodes in the worker.
   */
  readObject(objectNumber: number, offset: number, length: number): Promise<Uint8Array>;
  /** A new tag (ownership epoch) with the caller's owner and predecessor. */
  allocateTag(data: TagData): Promise<Tag>;
  /** Calls `onUpdate` after metadata changes (set advance, clients, tags, trims). */
  watch(onUpdate: () => void, onError?: (e: Error) => void): Promise<WatchHandle>;
  close(): Promise<void>;
}

export interface JournalsService {
  /** ENOENT (`ERR_JOURNAL_NOT_FOUND`) when the image has no journal. */
  open(cluster: Cluster, pool: string, imageId: string): Promise<JournalHandle>;
  /**
   * Appends an ownership marker (`demote`/`promote`, Ceph's DemotePromote event) through a
   * handle that holds the image's exclusive lock, and commits it. The caller then allocates
   * the new epoch's tag (`<orphan>` on demote, `''` on promote) with `allocateTag`.
   */
  appendOwnershipEvent(img: Image, type: 'demote' | 'promote'): Promise<{ tagTid: number; entryTid: number }>;
  /** Who may take the lock for client writes; default Ceph's: the last tag's owner is `''`. */
  setPrimaryPolicy(policy: PrimaryPolicy): () => void;
  /** File URL of journal.worker.ts, for `ctx.pool.run(task, { filename, name: 'decodeObjects' | 'decodeObjectsInPlace' | 'crc32cBatch' })`. */
  readonly workerFile: string;
}

export class JournalsServiceImpl implements JournalsService {
  readonly workerFile = JOURNAL_WORKER;

  constructor(private readonly stage: () => JournalStage) {}

  async open(cluster: Cluster, pool: string, imageId: string): Promise<JournalHandle> {
    const j = await Journal.open(cluster, pool, imageId);
    return {
      imageId,
      headerOid: j.header.oid,
      objectPrefix: j.objectPrefix,
      dataPool: j.dataIo.poolName,
      objectOid: (n) => j.objectOid(n),
      metadata: () => j.read(),
      registerClient: (id, data = {}) => j.header.registerClient(id, data).then(() => j.header.notify()),
      unregisterClient: (id) => j.header.unregisterClient(id).then(() => j.header.notify()),
      updateClientData: (id, data) => j.header.updateClient(id, (c) => ({ ...c, data })),
      commit: (id, position) => j.header.commit(id, position),
      read: (from, o = {}) => readJournal(j, from, o),
      readObject: (n, offset, length) => j.dataIo.read(j.objectOid(n), offset, length).catch((e: unknown) => {
        if ((e as { errno?: string }).errno === 'ENOENT') return new Uint8Array(0);
        throw e;
      }),
      allocateTag: (data) => j.header.allocateTag(data).then(async (t) => {
        await j.header.notify();
        return t;
      }),
      watch: (cb, onError) => j.watch(cb, onError),
      close: () => j.close(),
    };
  }

  async appendOwnershipEvent(img: Image, type: 'demote' | 'promote'): Promise<{ tagTid: number; entryTid: number }> {
    const ij = this.stage().journalOf(img);
    if (!img.lockOwner || !ij) {
      throw errno('EINVAL', 'ERR_JOURNAL_NOT_OPEN', `image ${img.pool}/${img.name}: ownership events need a journaled image whose exclusive lock this handle holds`);
    }
    await img.flush();
    const a = await ij.recorder.append(encodeEvent({ type, timestamp: Date.now() }));
    ij.complete([a], true);
    await ij.commitNow();
    return { tagTid: a.tagTid, entryTid: a.entryTid };
  }

  setPrimaryPolicy(policy: PrimaryPolicy): () => void {
    return this.stage().setPrimaryPolicy(policy);
  }
}
