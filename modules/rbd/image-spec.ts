/**
 * `[pool/]image` as rbd reads it, with `--pool`/`-p` and `--image` as alternatives
 * (rbd's `get_pool_image_snapshot_names`): `--image` wins over the positional spec, a pool in
 * the spec wins over `--pool`, and the pool defaults to `rbd default pool` (`rbd`).
 */
import { err } from '../../host/index.js';

export interface ImageSpec {
  pool: string;
  image: string;
}

export interface ImageSpecArgs {
  image_spec?: string;
  pool?: string;
  image?: string;
}

export const DEFAULT_POOL = 'rbd';

const NAME_RE = /^[^/@\s]+$/;

export function parseImageSpec(args: ImageSpecArgs, defaultPool = DEFAULT_POOL): ImageSpec {
  const spec = args.image ?? args.image_spec;
  if (spec === undefined || spec === '') throw err('ERR_INVALID_ARGUMENT', 'image name was not specified');
  const parts = spec.split('/');
  if (parts.length > 2) {
    throw err('ERR_INVALID_ARGUMENT', `invalid image spec '${spec}': expected [pool/]image (namespaces are not supported)`);
  }
  const image = parts.length === 2 ? parts[1]! : parts[0]!;
  const pool = parts.length === 2 ? parts[0]! : args.pool ?? defaultPool;
  if (image.includes('@')) {
    throw err('ERR_INVALID_ARGUMENT', `invalid image spec '${spec}': snapshots are not supported`);
  }
  if (!NAME_RE.test(image)) throw err('ERR_INVALID_ARGUMENT', `invalid image name in '${spec}'`);
  if (!NAME_RE.test(pool)) throw err('ERR_INVALID_ARGUMENT', `invalid pool name in '${spec}'`);
  return { pool, image };
}

/** A name `create` accepts: what rbd forbids in names (`/`, `@`) plus whitespace. */
export function checkImageName(name: string): void {
  if (!NAME_RE.test(name)) {
    throw err('ERR_INVALID_ARGUMENT', `invalid image name '${name}': it must not be empty or contain '/', '@' or spaces`);
  }
}
