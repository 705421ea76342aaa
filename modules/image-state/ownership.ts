/**
 * Promotion, demotion and resync of one mirrored image. Ownership lives in two places that
 * move together: the journal's tags (Ceph's truth: the last tag's owner is `''` on the
 * primary, `<orphan>` after a demote, the peer's mirror uuid while replaying) and the record's
 * `primary` flag (what the write guard and the CLI read). The tag moves first; a crash
 * before the record follows is completed by the next promote/demote, which finds the tag
 * already there and only fixes the flag.
 *
 *   primary ──demote──▶ demote event + <orphan> tag ──▶ non-primary
 *   non-primary, last tag <orphan> ──promote──▶ promote event + '' tag ──▶ primary
 *   non-primary, last tag a peer's ──promote──▶ EBUSY (the demotion has not been replayed yet)
 *                                   ──promote --force──▶ the same as above (split-brain possible)
 *   non-primary ──resync──▶ resync flag for the daemon
 */
import type { MirrorImage } from './api.js';
import { withIo, type Deps, type Target } from './deps.js';
import { readRecord, updateRecord } from './record-store.js';
import { alreadyPrimary, notEnabledOnImage, notPrimary, notPropagated, resyncPrimary } from './rbd-words.js';

/** librbd's owner values of a tag. */
const LOCAL = '';
const ORPHAN = '<orphan>';

async function enabledRecord(t: Target): Promise<MirrorImage> {
  const rec = await withIo(t.cluster, t.pool, (io) => readRecord(io, t.id));
  if (rec?.state !== 'enabled') throw notEnabledOnImage();
  return rec;
}

async function lastTagOwner(d: Deps, t: Target): Promise<{ owner: string | undefined }> {
  const j = await d.journals.open(t.cluster, t.pool, t.id);
  try {
    const tags = (await j.metadata()).tags;
    return { owner: tags[tags.length - 1]?.data.mirrorUuid };
  } finally {
    await j.close();
  }
}

/**
 * Appends the ownership event through a handle holding the lock, then the new epoch's tag.
 * `purpose` is `replay` for a promote: the image is non-primary, so client handles are refused.
 */
async function moveOwnership(d: Deps, t: Target, type: 'promote' | 'demote'): Promise<void> {
  const img = await d.images.openImageById(t.cluster, t.pool, t.id, { purpose: type === 'promote' ? 'replay' : 'client' });
  try {
    await img.flush(); // takes the exclusive lock (and, for a client handle, a fresh '' tag)
    const j = await d.journals.open(t.cluster, t.pool, t.id);
    try {
      const tags = (await j.metadata()).tags;
      const prevOwner = tags[tags.length - 1]?.data.mirrorUuid ?? LOCAL;
      const at = await d.journals.appendOwnershipEvent(img, type);
      await j.allocateTag({
        mirrorUuid: type === 'promote' ? LOCAL : ORPHAN,
        predecessor: { mirrorUuid: prevOwner, commitValid: true, tagTid: at.tagTid, entryTid: at.entryTid },
      });
    } finally {
      await j.close();
    }
  } finally {
    await img.close();
  }
}

async function setFlag(t: Target, primary: boolean): Promise<void> {
  await withIo(t.cluster, t.pool, (io) => updateRecord(io, t.id, ({ record }) => {
    if (record?.state !== 'enabled') throw notEnabledOnImage();
    if (record.primary === primary && !record.resyncRequested) return 'keep';
    return { ...record, primary, resyncRequested: primary ? false : record.resyncRequested };
  }));
}

export async function promote(d: Deps, t: Target, o: { force?: boolean } = {}): Promise<void> {
  const rec = await enabledRecord(t);
  if (rec.primary) throw alreadyPrimary();
  const { owner } = await lastTagOwner(d, t);
  if (owner !== LOCAL) {
    if (owner !== ORPHAN && !o.force) throw notPropagated();
    await moveOwnership(d, t, 'promote');
  }
  await setFlag(t, true);
}

export async function demote(d: Deps, t: Target): Promise<void> {
  const rec = await enabledRecord(t);
  if (!rec.primary) throw notPrimary();
  const { owner } = await lastTagOwner(d, t);
  if (owner !== ORPHAN) await moveOwnership(d, t, 'demote');
  await setFlag(t, false);
}

export async function resync(t: Target): Promise<void> {
  await withIo(t.cluster, t.pool, (io) => updateRecord(io, t.id, ({ record }) => {
    if (record?.state !== 'enabled') throw notEnabledOnImage();
    if (record.primary) throw resyncPrimary();
    return record.resyncRequested ? 'keep' : { ...record, resyncRequested: true };
  }));
}

/**
 * Enabling makes the image primary. A journal created here starts with a `''` tag already;
 * one whose last owner is another site (mirroring was force-disabled on a replica) gets a
 * promote event and a `''` tag, so client writes are accepted again.
 */
export async function ensureLocalOwner(d: Deps, t: Target): Promise<void> {
  const { owner } = await lastTagOwner(d, t);
  if (owner !== LOCAL) await moveOwnership(d, t, 'promote');
}
