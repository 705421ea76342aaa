/**
 * What the journal commands share: rbd's image-spec arguments (`[pool/]image`, `--pool`/`-p`,
 * `--image`; the same rules as the rbd module's, which modules may not import), and opening
 * an image's journal by name.
 */
import { err, Type, type Cluster, type ModuleContext } from '../../host/index.js';
import type { Image, ImagesService } from '../rbd/api.js';
import { Journal } from './journal.js';

export const imageSpecArgs = {
  image_spec: Type.Optional(Type.String({ description: 'image specification: [pool/]image' })),
  pool: Type.Optional(Type.String({ description: 'pool name (default: rbd default pool, "rbd")' })),
  image: Type.Optional(Type.String({ description: 'image name' })),
};
export const imageSpecAliases = { p: 'pool' };

export interface ImageSpec {
  pool: string;
  image: string;
}

const NAME_RE = /^[^/@\s]+$/;

/** rbd's rules: `--image` wins over the positional, a pool in the spec wins over `--pool`. */
export function imageSpec(ctx: ModuleContext, a: { image_spec?: string; pool?: string; image?: string }): ImageSpec {
  const dflt = ctx.conf.get('rbd_default_pool');
  const spec = a.image ?? a.image_spec;
  if (spec === undefined || spec === '') throw err('ERR_INVALID_ARGUMENT', 'image name was not specified');
  const parts = spec.split('/');
  if (parts.length > 2) throw err('ERR_INVALID_ARGUMENT', `invalid image spec '${spec}': expected [pool/]image (namespaces are not supported)`);
  const image = parts.length === 2 ? parts[1]! : parts[0]!;
  const pool = parts.length === 2 ? parts[0]! : a.pool ?? (dflt === undefined || dflt === '' ? 'rbd' : dflt);
  if (image.includes('@')) throw err('ERR_INVALID_ARGUMENT', `invalid image spec '${spec}': snapshots are not supported`);
  if (!NAME_RE.test(image)) throw err('ERR_INVALID_ARGUMENT', `invalid image name in '${spec}'`);
  if (!NAME_RE.test(pool)) throw err('ERR_INVALID_ARGUMENT', `invalid pool name in '${spec}'`);
  return { pool, image };
}

export function images(ctx: ModuleContext): ImagesService {
  return ctx.service<ImagesService>('rbd', 'images');
}

/** Opens the image (read-only unless `writable`), runs `fn`, closes it. */
export async function withImage<T>(ctx: ModuleContext, spec: ImageSpec, writable: boolean, fn: (img: Image, cluster: Cluster) => Promise<T>): Promise<T> {
  const cluster = await ctx.cluster();
  const img = await images(ctx).openImage(cluster, spec.pool, spec.image, writable ? {} : { readOnly: true });
  try {
    return await fn(img, cluster);
  } finally {
    await img.close();
  }
}

/** The image's journal; ENOENT naming the image when it has none. */
export async function withJournal<T>(ctx: ModuleContext, spec: ImageSpec, fn: (j: Journal, img: Image) => Promise<T>): Promise<T> {
  return withImage(ctx, spec, false, async (img, cluster) => {
    let j: Journal;
    try {
      j = await Journal.open(cluster, img.ioctx, img.id);
    } catch (e) {
      if ((e as { errno?: string }).errno === 'ENOENT') {
        throw err('ERR_INVALID_ARGUMENT', `image ${spec.pool}/${spec.image} has no journal: journaling is not enabled`);
      }
      throw e;
    }
    try {
      return await fn(j, img);
    } finally {
      await j.close();
    }
  });
}
