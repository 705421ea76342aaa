/**
 * A real Host (all built-in modules, journaling's stage registered on the process-wide
 * image hooks) on an embedded cluster made by `cluster create`, plus the image library and
 * the journals service as other modules see them.
 */
import type { Cluster } from '../../../host/index.js';
import { ImageLibrary } from '../../../modules/rbd/images-service.js';
import type { JournalsService } from '../../../modules/journaling/journals-service.js';
import { RUNTIME } from '../../../modules/journaling/runtime.js';
import { hostCluster, type HostCluster } from '../rbd/host-harness.js';

export const K = 1024;
export const M = 1024 * 1024;

export interface JournalCluster extends HostCluster {
  cluster: Cluster;
  lib: ImageLibrary;
  journals: JournalsService;
  /** Sets journaling options (runtime) for this host. */
  set(options: Record<string, unknown>): Promise<void>;
}

export async function journalCluster(t: { teardown(fn: () => unknown): void }, pools = ['rbd']): Promise<JournalCluster> {
  const hc = await hostCluster(t);
  const cluster = await hc.host.cluster();
  for (const p of pools) await cluster.createPool(p);
  const lib = new ImageLibrary({ conf: { get: () => undefined }, lockWaitTimeoutMs: 5000 });
  const set = async (o: Record<string, unknown>) => {
    for (const [k, v] of Object.entries(o)) await hc.host.setOption(`journaling/${k}`, v);
  };
  return { ...hc, cluster, lib, journals: RUNTIME.service, set };
}

/** Applies a journal's replayable events to a zeroed buffer: what "a replay of the journal" gives. */
export function replayInto(size: number, entries: Array<{ event: Record<string, unknown>; data?: Uint8Array }>): Buffer {
  let img = Buffer.alloc(size);
  for (const e of entries) {
    const ev = e.event as { type: string; offset: number; length: number; size: number };
    if (ev.type === 'write') img.set(e.data!, ev.offset);
    else if (ev.type === 'discard' || ev.type === 'write_zeroes') img.fill(0, ev.offset, ev.offset + ev.length);
    else if (ev.type === 'resize') {
      const next = Buffer.alloc(ev.size);
      img.copy(next, 0, 0, Math.min(ev.size, img.length));
      img = next;
    }
  }
  return img;
}
