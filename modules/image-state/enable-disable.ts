/**
 * Enabling and disabling mirroring of one image (librbd's EnableRequest/DisableRequest):
 *
 *   (no record) ──enable──▶ enabled (primary, new global id)
 *   enabled ──disable──▶ disabling ──peer journal clients dropped,
 *                                    journaling removed (if asked)──▶ (no record)
 *
 * `disabling` survives a crash, so a second `disable` finishes the job; `enable` refuses it.
 * A non-primary image is disabled only with `force` (the replica is then on its own).
 */
import { randomUUID } from 'node:crypto';
import type { MirrorImage } from './api.js';
import { hasJournaling, withIo, type Deps, type Target } from './deps.js';
import { isErrno, updateRecord } from './record-store.js';
import { beingDisabled, disableNonPrimary } from './rbd-words.js';

/** Creates the record (idempotent: an enabled image stays as it is). */
export async function enableRecord(t: Pick<Target, 'cluster' | 'pool' | 'id'>, opts: { primary: boolean; globalId?: string }): Promise<MirrorImage> {
  const rec = await withIo(t.cluster, t.pool, (io) => updateRecord(io, t.id, ({ record }) => {
    if (record?.state === 'enabled') return 'keep';
    if (record?.state === 'disabling') throw beingDisabled();
    return { imageId: t.id, globalId: opts.globalId ?? randomUUID(), state: 'enabled', mode: 'journal', primary: opts.primary, resyncRequested: false };
  }));
  return rec!;
}

export interface DisableOptions {
  force?: boolean;
  /** Also turn the journaling feature off (rbd's `mirror image disable`, pool disable). */
  removeJournaling?: boolean;
  /** The caller already holds the image open (the write path): skip the journal steps. */
  recordOnly?: boolean;
}

/** @returns whether there was a record to disable. */
export async function disableImage(d: Deps, t: Target, o: DisableOptions = {}): Promise<boolean> {
  let wasPrimary = true;
  const marked = await withIo(t.cluster, t.pool, (io) => updateRecord(io, t.id, ({ record }) => {
    if (!record) return 'keep';
    if (record.state !== 'disabling' && !record.primary && !o.force) throw disableNonPrimary();
    wasPrimary = record.primary;
    return record.state === 'disabling' ? 'keep' : { ...record, state: 'disabling' };
  }));
  if (!marked) return false;
  if (!o.recordOnly) {
    await dropPeerClients(d, t);
    if (o.removeJournaling && hasJournaling(d, t.features)) {
      // A non-primary image refuses client handles; the replay purpose is how the owner of
      // the replica (this forced disable) changes it.
      const img = await d.images.openImageById(t.cluster, t.pool, t.id, { purpose: wasPrimary ? 'client' : 'replay' });
      try {
        await img.updateFeatures(d.images.features.journaling!, false);
      } finally {
        await img.close();
      }
    }
  }
  await withIo(t.cluster, t.pool, (io) => updateRecord(io, t.id, ({ record }) => (record?.state === 'disabling' ? undefined : 'keep')));
  return true;
}

/**
 * Mirror peers registered on the journal (the replay daemons of other sites) are dropped, as
 * DisableRequest does, so the journal no longer waits for them (and can be removed).
 */
async function dropPeerClients(d: Deps, t: Target): Promise<void> {
  let j;
  try {
    j = await d.journals.open(t.cluster, t.pool, t.id);
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return;
    throw e;
  }
  try {
    for (const c of (await j.metadata()).clients) {
      if (c.id !== '') await j.unregisterClient(c.id).catch((e: unknown) => { if (!isErrno(e, 'ENOENT')) throw e; });
    }
  } finally {
    await j.close();
  }
}
