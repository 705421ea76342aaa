/**
 * Journal events: the payload of one journal entry (librbd's `EventEntry`), as JSON Schemas.
 *
 * On the store a payload is `u32 head_len │ head (this JSON, UTF-8) │ data`, where `data` is
 * present only for `write` (its `length` bytes). Every event carries `timestamp` (ms since
 * the epoch; librbd's EventEntry metadata, used by delayed replay).
 *
 * Snapshot events are defined so journals stay forward compatible, but rbdm images do not
 * support snapshots yet: nothing writes them, and replay refuses them (ENOTSUP).
 */
import { Type, type Static } from '@sinclair/typebox';

const Offset = Type.Integer({ minimum: 0, description: 'byte offset in the image' });
const Length = Type.Integer({ minimum: 0, description: 'bytes' });
const Timestamp = Type.Integer({ minimum: 0, description: 'ms since the epoch' });

export const JournalWriteEvent = Type.Object({
  type: Type.Literal('write'), offset: Offset, length: Length, timestamp: Timestamp,
}, { $id: 'JournalWriteEvent', additionalProperties: false, description: 'AioWrite; the data follows the head' });

export const JournalDiscardEvent = Type.Object({
  type: Type.Literal('discard'), offset: Offset, length: Length, timestamp: Timestamp,
}, { $id: 'JournalDiscardEvent', additionalProperties: false, description: 'AioDiscard (reads as zeros afterwards)' });

export const JournalWriteZeroesEvent = Type.Object({
  type: Type.Literal('write_zeroes'), offset: Offset, length: Length, timestamp: Timestamp,
}, { $id: 'JournalWriteZeroesEvent', additionalProperties: false, description: 'AioWriteZeroes' });

export const JournalFlushEvent = Type.Object({
  type: Type.Literal('flush'), timestamp: Timestamp,
}, { $id: 'JournalFlushEvent', additionalProperties: false, description: 'AioFlush' });

export const JournalResizeEvent = Type.Object({
  type: Type.Literal('resize'), size: Length, old_size: Length, timestamp: Timestamp,
}, { $id: 'JournalResizeEvent', additionalProperties: false, description: 'Resize' });

export const JournalUpdateFeaturesEvent = Type.Object({
  type: Type.Literal('update_features'),
  features: Type.Integer({ minimum: 0, description: 'the bits that change' }),
  enabled: Type.Boolean(),
  old_features: Type.Integer({ minimum: 0 }),
  new_features: Type.Integer({ minimum: 0 }),
  timestamp: Timestamp,
}, { $id: 'JournalUpdateFeaturesEvent', additionalProperties: false, description: 'UpdateFeatures (never for the journaling bit itself)' });

const SnapFields = {
  snap_name: Type.String({ minLength: 1 }),
  snap_namespace: Type.Optional(Type.String()),
  timestamp: Timestamp,
};

export const JournalSnapCreateEvent = Type.Object({ type: Type.Literal('snap_create'), ...SnapFields },
  { $id: 'JournalSnapCreateEvent', additionalProperties: false, description: 'SnapCreate (images do not support snapshots yet)' });

export const JournalSnapRemoveEvent = Type.Object({ type: Type.Literal('snap_remove'), ...SnapFields },
  { $id: 'JournalSnapRemoveEvent', additionalProperties: false, description: 'SnapRemove (images do not support snapshots yet)' });

export const JournalDemoteEvent = Type.Object({ type: Type.Literal('demote'), timestamp: Timestamp },
  { $id: 'JournalDemoteEvent', additionalProperties: false, description: 'ownership marker: the last event of a primary epoch (Ceph DemotePromote)' });

export const JournalPromoteEvent = Type.Object({ type: Type.Literal('promote'), timestamp: Timestamp },
  { $id: 'JournalPromoteEvent', additionalProperties: false, description: 'ownership marker: the first event of a new primary epoch (Ceph DemotePromote)' });

export const JournalEvent = Type.Union([
  JournalWriteEvent, JournalDiscardEvent, JournalWriteZeroesEvent, JournalFlushEvent, JournalResizeEvent,
  JournalUpdateFeaturesEvent, JournalSnapCreateEvent, JournalSnapRemoveEvent, JournalDemoteEvent, JournalPromoteEvent,
], { $id: 'JournalEvent' });

/** The head of an entry's payload. */
export type JournalEventHead = Static<typeof JournalEvent>;
export type JournalEventType = JournalEventHead['type'];
