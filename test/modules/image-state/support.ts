/**
 * Shared by the image-state tests: the two embedded clusters of pool-config's support (real
 * CLI), rbd 16.2's captures, and an in-process Host per cluster for the services the replay
 * daemon uses (record creation on a replica, tags), since there is no daemon here.
 */
import { Host } from '../../../host/runtime/host.js';
import type { Cluster } from '../../../host/index.js';
import type { JournalsService } from '../../../modules/journaling/journals-service.js';
import { RUNTIME as JOURNALING } from '../../../modules/journaling/runtime.js';
import type { ImageStateService } from '../../../modules/image-state/api.js';
import { boundDeps } from '../../../modules/image-state/runtime.js';
import { imageStateService } from '../../../modules/image-state/service.js';
import { normalize, reference, twoClusters, type Two } from '../pool-config/support.js';

export { normalize, reference, twoClusters, type Two };

/** rbd's image ids (hex) and uuids masked. */
export function mask(text: string): string {
  return normalize(text).replace(/\b(id: |rbd_data\.|journal: )[0-9a-f]{10,16}\b/g, '$1<id>').replace(/Wed Nov 25 \d\d:\d\d:\d\d 2026|\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}/g, '<time>');
}

export interface InProcess {
  cluster: Cluster;
  state: ImageStateService;
  journals: JournalsService;
}

/** A real Host (all built-in modules loaded and initialised) of one cluster, in this process. */
export async function inProcess(t: { teardown(fn: () => unknown): void }, two: Two, name: 'local' | 'remote'): Promise<InProcess> {
  const host = new Host({ clusterName: name, entity: 'client.admin', env: two.c.env });
  await host.init();
  await host.loadModules();
  t.teardown(() => host.shutdown());
  return { cluster: await host.cluster(), state: imageStateService(boundDeps), journals: JOURNALING.service };
}

/** The phrase of librbd's/rbd's reason that a refusal must carry (and the capture shows). */
export function phraseOf(n: number, phrase: string): string {
  const ref = reference(n);
  if (!(ref.stderr + ref.stdout).includes(phrase)) throw new Error(`capture ${n} does not say '${phrase}'`);
  return phrase;
}

export const LOCAL_POOL = 'image-pool';
export const IMAGE_POOL2 = 'image-pool2';

/**
 * What the replay daemon does when it creates a replica (no daemon runs in these tests):
 * the image without journaling, its non-primary record with the primary's global id, then
 * journaling through a replay handle (client handles of a non-primary image are refused),
 * and a tag owned by the primary site's mirror uuid, as the replayer allocates.
 */
export async function makeReplica(ip: InProcess, pool: string, name: string, globalId: string, peerMirrorUuid: string, size = 64 * 1024 * 1024): Promise<string> {
  const d = boundDeps();
  const info = await d.images.createImage(ip.cluster, pool, name, { size, features: d.images.features['exclusive-lock']! });
  await ip.state.createNonPrimary(ip.cluster, pool, info.id, globalId);
  const img = await d.images.openImageById(ip.cluster, pool, info.id, { purpose: 'replay' });
  try {
    await img.updateFeatures(d.images.features.journaling!, true);
  } finally {
    await img.close();
  }
  await replayTag(ip, pool, info.id, peerMirrorUuid);
  return info.id;
}

/** A tag as the replayer allocates it: `owner` is the peer's mirror uuid, or `<orphan>` for a replayed demotion. */
export async function replayTag(ip: InProcess, pool: string, imageId: string, owner: string): Promise<void> {
  const j = await ip.journals.open(ip.cluster, pool, imageId);
  try {
    const tags = (await j.metadata()).tags;
    const last = tags[tags.length - 1];
    await j.allocateTag({ mirrorUuid: owner, predecessor: { mirrorUuid: last?.data.mirrorUuid ?? '', commitValid: false, tagTid: last?.tid ?? 0, entryTid: 0 } });
  } finally {
    await j.close();
  }
}

export async function tagOwners(ip: InProcess, pool: string, imageId: string): Promise<string[]> {
  const j = await ip.journals.open(ip.cluster, pool, imageId);
  try {
    return (await j.metadata()).tags.map((t) => t.data.mirrorUuid);
  } finally {
    await j.close();
  }
}

export async function journalEventTypes(ip: InProcess, pool: string, imageId: string): Promise<string[]> {
  const j = await ip.journals.open(ip.cluster, pool, imageId);
  try {
    return (await j.read(undefined)).entries.map((e) => e.event.type);
  } finally {
    await j.close();
  }
}
