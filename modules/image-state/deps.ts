/**
 * What the image-state flows build on (the three services) and how they name an image.
 * The service types are declared by their modules (`import type` only: nothing of theirs runs
 * through these imports).
 */
import type { Cluster, IoCtx, Logger } from '../../host/index.js';
import type { ImagesService } from '../rbd/api.js';
import type { JournalsService } from '../journaling/journals-service.js';
import type { MirrorMode, PoolMirroringService } from '../pool-config/api.js';

export interface Deps {
  images: ImagesService;
  journals: JournalsService;
  mirroring: PoolMirroringService;
  log: Logger;
  /** Where a user-facing warning goes (stderr of the CLI). */
  warn(line: string): void;
}

/** One image as the flows address it: pool, id and (for messages) name. */
export interface Target {
  cluster: Cluster;
  pool: string;
  id: string;
  name: string;
  features: number;
}

export async function poolMode(d: Deps, cluster: Cluster, pool: string): Promise<MirrorMode> {
  return (await d.mirroring.getPoolMirroring(cluster, pool)).mode;
}

export function hasJournaling(d: Deps, features: number): boolean {
  return (features & d.images.features.journaling!) !== 0;
}

/** Resolves an image by name (ENOENT with rbd's wording from the images service). */
export async function targetByName(d: Deps, cluster: Cluster, pool: string, name: string): Promise<Target> {
  const img = await d.images.openImage(cluster, pool, name, { readOnly: true });
  try {
    return { cluster, pool, id: img.id, name: img.name, features: img.info.features };
  } finally {
    await img.close();
  }
}

export async function targetById(d: Deps, cluster: Cluster, pool: string, id: string): Promise<Target> {
  const img = await d.images.openImageById(cluster, pool, id, { readOnly: true });
  try {
    return { cluster, pool, id, name: img.name, features: img.info.features };
  } finally {
    await img.close();
  }
}

/** Runs `fn` with a fresh ioctx of the pool (an image's own ioctx closes with the image). */
export async function withIo<T>(cluster: Cluster, pool: string, fn: (io: IoCtx) => Promise<T>): Promise<T> {
  const io = await cluster.ioctx(pool);
  try {
    return await fn(io);
  } finally {
    await io.close();
  }
}
