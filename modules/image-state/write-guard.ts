/**
 * What keeps a non-primary image unchanged, and what follows the journaling feature:
 *
 * - write stage `image-state` (order 10): `beforeLock` refuses every client change (write,
 *   discard, resize, feature change) of a non-primary image with EROFS, before any lock is
 *   asked for (080); replay handles pass. `beforeApply` (feature changes only) refuses turning journaling off while
 *   the image is mirrored in an image-mode pool (librbd's rule); `afterApply` mirrors an
 *   image whose journaling was just enabled in a pool-mode pool, and un-mirrors (with a
 *   warning rbd does not give) one whose journaling was just disabled there.
 * - lifecycle: `image-state` (order 30, after the journal exists) mirrors a journaled image
 *   created in a pool-mode pool; `image-state-guard` (order 10, before the journal goes)
 *   refuses `rm` of a non-primary image and drops the record of a removed one.
 * - the journals service's primary policy: a client takes the lock for writing only when the
 *   record (if any) says primary and the journal's last tag is this site's.
 */
import type { Image, WriteEvent, ImageRef } from '../rbd/api.js';
import { enableRecord, disableImage } from './enable-disable.js';
import { hasJournaling, poolMode, type Deps } from './deps.js';
import { readRecord } from './record-store.js';
import { journalingInImageMode, nonPrimaryReadOnly } from './rbd-words.js';

function describe(ev: WriteEvent): string {
  switch (ev.type) {
    case 'write': case 'write_zeroes': return 'write';
    case 'discard': return 'discard';
    case 'flush': return 'write';
    case 'resize': return 'resize';
    case 'update_features': return 'feature change';
  }
}

function journalingBit(d: Deps, ev: WriteEvent): boolean {
  return ev.type === 'update_features' && (ev.features & d.images.features.journaling!) !== 0;
}

export function registerWriteGuard(d: Deps): Array<() => void> {
  const offs: Array<() => void> = [];
  offs.push(d.images.registerWriteStage({
    name: 'image-state',
    order: 10,
    beforeLock: async (img: Image) => {
      if (img.purpose === 'replay') return;
      const rec = await readRecord(img.ioctx, img.id);
      if (rec?.state === 'enabled' && !rec.primary) throw nonPrimaryReadOnly(img.pool, img.name, 'writing');
    },
    // Data writes are not re-checked per event: `beforeLock` ran for this lock acquisition,
    // and a demote needs the lock, so the record cannot turn non-primary under a holder.
    // Images without exclusive-lock cannot be journaled, hence never mirrored.
    beforeApply: async (img: Image, ev: WriteEvent) => {
      if (img.purpose === 'replay' || ev.type !== 'update_features') return undefined;
      const rec = await readRecord(img.ioctx, img.id);
      if (rec?.state === 'enabled' && !rec.primary) throw nonPrimaryReadOnly(img.pool, img.name, describe(ev));
      if (journalingBit(d, ev) && !ev.enabled && rec?.state === 'enabled' && (await poolMode(d, img.cluster, img.pool)) === 'image') {
        throw journalingInImageMode();
      }
      return undefined;
    },
    afterApply: async (img: Image, ev: WriteEvent, _token: unknown, error?: Error) => {
      if (error || img.purpose === 'replay' || ev.type !== 'update_features' || !journalingBit(d, ev)) return;
      try {
        if ((await poolMode(d, img.cluster, img.pool)) !== 'pool') return;
        const t = { cluster: img.cluster, pool: img.pool, id: img.id, name: img.name, features: ev.newFeatures };
        if (ev.enabled) {
          await enableRecord(t, { primary: true });
        } else {
          const rec = await readRecord(img.ioctx, img.id);
          if (rec?.state !== 'enabled') return;
          await disableImage(d, t, { recordOnly: true });
          d.warn(`warning: journaling disabled on ${img.pool}/${img.name}: mirroring of this image is now disabled in pool mode, and peers will delete their copies`);
        }
      } catch (e) {
        // The feature change itself is done; a failed follow-up is the log's, not the user's.
        d.log.error(`mirroring follow-up of a journaling change on ${img.pool}/${img.name} failed`, e);
        d.warn(`warning: mirroring state of ${img.pool}/${img.name} was not updated after the journaling change: ${(e as Error).message}`);
      }
    },
  }));
  offs.push(d.images.registerLifecycleHook({
    name: 'image-state',
    order: 30,
    afterCreate: async (ref: ImageRef) => {
      if (!hasJournaling(d, ref.info.features)) return;
      if ((await poolMode(d, ref.cluster, ref.ioctx.poolName)) !== 'pool') return;
      await enableRecord({ cluster: ref.cluster, pool: ref.ioctx.poolName, id: ref.info.id }, { primary: true });
    },
    // Rolls back a failed creation's record (and is a no-op in `rm`: the guard ran first).
    beforeRemove: (ref: ImageRef) => dropRecord(d, ref, true),
  }));
  offs.push(d.images.registerLifecycleHook({
    name: 'image-state-guard',
    order: 10,
    beforeRemove: (ref: ImageRef) => dropRecord(d, ref, false),
  }));
  offs.push(d.journals.setPrimaryPolicy(async (img, lastTag) => {
    const rec = await readRecord(img.ioctx, img.id);
    if (rec?.state === 'enabled' && !rec.primary) return false;
    return lastTag?.data.mirrorUuid === '';
  }));
  return offs;
}

async function dropRecord(d: Deps, ref: ImageRef, force: boolean): Promise<void> {
  const rec = await readRecord(ref.ioctx, ref.info.id);
  if (!rec) return;
  if (!force && rec.state === 'enabled' && !rec.primary) {
    throw nonPrimaryReadOnly(ref.ioctx.poolName, ref.info.name, 'removal',
      'promote it first, or drop the replica\'s mirroring: mirror image disable --force');
  }
  await disableImage(d, { cluster: ref.cluster, pool: ref.ioctx.poolName, id: ref.info.id, name: ref.info.name, features: ref.info.features }, { force: true, recordOnly: true });
}
