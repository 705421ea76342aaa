/**
 * What the image commands share: the image-spec arguments, the library bound to the
 * command's context, and spec resolution with `rbd default pool`.
 */
import { Type, type ModuleContext } from '../../host/index.js';
import { DEFAULT_LOCK_WAIT_TIMEOUT_MS, ImageLibrary } from './images-service.js';
import { DEFAULT_POOL, parseImageSpec, type ImageSpec, type ImageSpecArgs } from './image-spec.js';

/** `[pool/]image` positional plus `--pool`/`-p` and `--image`, as every rbd image command has. */
export const imageSpecArgs = {
  image_spec: Type.Optional(Type.String({ description: 'image specification: [pool/]image' })),
  pool: Type.Optional(Type.String({ description: 'pool name (default: rbd default pool, "rbd")' })),
  image: Type.Optional(Type.String({ description: 'image name' })),
};

export const imageSpecAliases = { p: 'pool' };

export const progressArg = {
  progress: Type.Optional(Type.Boolean({ description: 'show progress on stderr (default: only on a terminal); --no-progress hides it' })),
};

export const createArgs = {
  image_feature: Type.Optional(Type.Array(Type.String(), {
    description: 'image features, repeatable or a comma list (layering, exclusive-lock, object-map, fast-diff, deep-flatten, journaling)',
  })),
  object_size: Type.Optional(Type.String({ description: 'object size in B/K/M (4K to 32M, a power of two; default 4M)' })),
  data_pool: Type.Optional(Type.String({ description: 'pool for the data objects' })),
};

export function defaultPool(ctx: ModuleContext): string {
  const v = ctx.conf.get('rbd_default_pool');
  return v === undefined || v === '' ? DEFAULT_POOL : v;
}

export function imageSpec(ctx: ModuleContext, args: ImageSpecArgs): ImageSpec {
  return parseImageSpec(args, defaultPool(ctx));
}

/** The library as the commands use it: this host's conf, log and lock wait option. */
export function library(ctx: ModuleContext): ImageLibrary {
  const secs = ctx.options.get<number | undefined>('lock_wait_timeout');
  return new ImageLibrary({
    conf: ctx.conf,
    log: ctx.log,
    lockWaitTimeoutMs: typeof secs === 'number' ? secs * 1000 : DEFAULT_LOCK_WAIT_TIMEOUT_MS,
  });
}

