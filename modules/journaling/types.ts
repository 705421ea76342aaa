/**
 * Plain-data types of the journal (they survive a structured clone, so workers and other
 * modules can use them): header metadata, clients, positions, tags, and worker tasks.
 */
import type { ThreadConnectSpec } from '../../host/index.js';
import type { CorruptEntry } from './entry-codec.js';

/** Ceph's `ObjectPosition`: where one committed entry lives. */
export interface ObjectPosition {
  objectNumber: number;
  tagTid: number;
  entryTid: number;
}

/** A client's commit position: one position per splay offset, most recent first (Ceph's `ObjectSetPosition`). */
export type CommitPosition = ObjectPosition[];

export type ClientState = 'connected' | 'disconnected';

/** A registered journal client: the image itself (id `''`) or a mirror peer (its mirror uuid). */
export interface JournalClient {
  id: string;
  /** Opaque to the journal; mirror peers keep their `MirrorPeerClientMeta` here. */
  data: Record<string, unknown>;
  commitPosition: CommitPosition;
  state: ClientState;
}

/** librbd's `TagData`: who owned the journal in this epoch, and where the previous epoch ended. */
export interface TagData {
  /** `''` = this cluster is primary, `'<orphan>'` = demoted, else the remote peer's mirror uuid. */
  mirrorUuid: string;
  predecessor: { mirrorUuid: string; commitValid: boolean; tagTid: number; entryTid: number };
}

export interface Tag {
  tid: number;
  tagClass: number;
  data: TagData;
}

/** The header object's content. */
export interface JournalMetadata {
  imageId: string;
  /** log2 of the data object size. */
  order: number;
  splayWidth: number;
  /** Pool of the data objects; -1 = the header's pool. */
  poolId: number;
  minimumSet: number;
  activeSet: number;
  nextTagTid: number;
  clients: JournalClient[];
  tags: Tag[];
}

/** librbd's `LOCAL_MIRROR_UUID` and `ORPHAN_MIRROR_UUID`. */
export const LOCAL_MIRROR_UUID = '';
export const ORPHAN_MIRROR_UUID = '<orphan>';
/** librbd's `IMAGE_CLIENT_ID`: the image's own client. */
export const IMAGE_CLIENT_ID = '';

/** What a worker returns instead of throwing (custom errors lose their fields across threads). */
export type WorkerResult<T> = { ok: true; value: T } | { ok: false; code: string; message: string };

/** Task of `decodeObjects`: raw data objects of a journal. */
export interface DecodeObjectsTask {
  objects: Array<{ objectNumber: number; data: Uint8Array }>;
}

/**
 * Task of `readDecodeObjects`: byte ranges of a journal's data objects, read by the worker
 * itself over its own connection (`Cluster.threadConnect`) and decoded there.
 */
export interface ReadDecodeObjectsTask {
  connect: ThreadConnectSpec;
  /** The pool of the data objects (`JournalHandle.dataPool`). */
  pool: string;
  objects: Array<{ objectNumber: number; oid: string; offset: number; length: number }>;
}

export interface ReadDecodeObjectsResult {
  /** Bytes read of each range (short at an object's end; 0 for a missing object). */
  lengths: number[];
  decoded: DecodeObjectsResult;
}

/** One entry, decoded down to its event. */
export interface EntryRecord {
  tagTid: number;
  entryTid: number;
  objectNumber: number;
  offset: number;
  /** Total framed size in bytes. */
  size: number;
  /** The event head (schemas/journal-events.ts). */
  event: Record<string, unknown> & { type: string };
  /** The data of a `write`. */
  data?: Uint8Array;
}

export interface DecodeObjectsResult {
  entries: EntryRecord[];
  /** Entries whose frame or payload is bad, never applied. */
  corrupt: CorruptEntry[];
  /** Object number → bytes of an incomplete entry at its end. */
  torn: Array<{ objectNumber: number; bytes: number }>;
}

export interface Crc32cBatchTask {
  buffers: Uint8Array[];
  seed?: number;
}
