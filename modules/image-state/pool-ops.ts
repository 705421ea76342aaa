/**
 * Pool-wide image mirroring: the mode hook pool-config runs on `mirror pool enable|disable`,
 * and `mirror pool demote|promote` (librbd's mode_set side effects and pool demote/promote).
 *
 * - image → disabled: refused while any image is still enabled (EINVAL, librbd's wording);
 * - pool → disabled: every image's mirroring is disabled first (journaling removed, as 277
 *   shows); a non-primary image refuses, and so does the pool change;
 * - → pool: every journaled image without a record becomes a mirrored primary.
 */
import type { Cluster } from '../../host/index.js';
import { HostError } from '../../host/index.js';
import type { ModeChange } from '../pool-config/api.js';
import { disableImage, enableRecord } from './enable-disable.js';
import { hasJournaling, poolMode, targetById, withIo, type Deps, type Target } from './deps.js';
import { demote, promote } from './ownership.js';
import { listRecords } from './record-store.js';
import { notEnabledOnPool, perImageFailure, poolDisableImagesEnabled } from './rbd-words.js';

export function registerPoolHooks(d: Deps): () => void {
  return d.mirroring.registerModeHook({
    name: 'image-state',
    order: 10,
    beforeModeChange: async (c: ModeChange) => {
      if (c.to !== 'disabled') return;
      const recs = await withIo(c.cluster, c.pool, listRecords);
      if (c.from === 'image') {
        if (recs.some((r) => r.state === 'enabled')) throw poolDisableImagesEnabled();
        return;
      }
      for (const r of recs) {
        const t = await targetById(d, c.cluster, c.pool, r.imageId).catch(() => undefined);
        // A record without its image (removed by hand) is only dropped.
        await disableImage(d, t ?? { cluster: c.cluster, pool: c.pool, id: r.imageId, name: r.imageId, features: 0 }, { removeJournaling: true, recordOnly: !t });
      }
    },
    afterModeChange: async (c: ModeChange) => {
      if (c.to !== 'pool') return;
      for (const im of await d.images.listImages(c.cluster, c.pool)) {
        const t = await targetById(d, c.cluster, c.pool, im.id).catch(() => undefined);
        if (t && hasJournaling(d, t.features)) await enableRecord(t, { primary: true });
      }
    },
  });
}

export interface PoolRunResult {
  count: number;
  /** One line per image that failed (172's `failed to promote image X: (16) …`). */
  failures: string[];
  /** The last failure, whose errno becomes the exit code. */
  error: HostError | undefined;
}

/** Demotes every primary / promotes every non-primary enabled image; failures do not stop the others. */
export async function poolOwnership(d: Deps, cluster: Cluster, pool: string, verb: 'promote' | 'demote', o: { force?: boolean } = {}): Promise<PoolRunResult> {
  if ((await poolMode(d, cluster, pool)) === 'disabled') throw notEnabledOnPool();
  const recs = await withIo(cluster, pool, listRecords);
  const res: PoolRunResult = { count: 0, failures: [], error: undefined };
  const names = new Map((await d.images.listImages(cluster, pool)).map((e) => [e.id, e.name]));
  for (const r of recs) {
    if (r.state !== 'enabled' || r.primary !== (verb === 'demote')) continue;
    const t: Target = { cluster, pool, id: r.imageId, name: names.get(r.imageId) ?? r.imageId, features: 0 };
    try {
      if (verb === 'demote') await demote(d, t);
      else await promote(d, t, o);
      res.count++;
    } catch (e) {
      const he = HostError.wrap(e);
      res.failures.push(perImageFailure(verb, t.name, he));
      res.error = he;
    }
  }
  return res;
}
