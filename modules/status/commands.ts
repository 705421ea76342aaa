/**
 * `mirror image status` and `mirror pool status [--verbose]`, with rbd 16.2's layouts and
 * refusals (072, 076, 112, 279). Reads only: nothing is written by either command.
 */
import { Type, defineCommand, err, errno, type CommandContext } from '../../host/index.js';
import { imageJson, poolJson, type ImageStatusJson, type PoolStatusJson } from './json.js';
import { renderImage, renderPool } from './plain.js';
import { depsOf, serviceOf } from './runtime.js';

const aliases = { p: 'pool' };

function defaultPool(ctx: CommandContext): string {
  const d = ctx.conf.get('rbd_default_pool');
  return d === undefined || d === '' ? 'rbd' : d;
}

/** `[pool/]image`, `--pool/-p`, `--image`, as rbd takes them. */
function spec(ctx: CommandContext, a: { image_spec?: string | undefined; pool?: string | undefined; image?: string | undefined }): { pool: string; image: string } {
  const s = a.image ?? a.image_spec;
  if (s === undefined || s === '') throw err('ERR_INVALID_ARGUMENT', 'image name was not specified');
  const parts = s.split('/');
  if (parts.length > 2 || parts.some((p) => p === '' || p.includes('@'))) throw err('ERR_INVALID_ARGUMENT', `invalid image spec '${s}': expected [pool/]image`);
  return { pool: parts.length === 2 ? parts[0]! : a.pool ?? defaultPool(ctx), image: parts[parts.length - 1]! };
}

export const imageStatusCommand = defineCommand({
  prefix: 'mirror image status',
  desc: 'Show RBD mirroring status for an image (this site and its peer sites).',
  perm: 'r',
  args: Type.Object({
    image_spec: Type.Optional(Type.String({ description: 'image specification: [pool/]image' })),
    pool: Type.Optional(Type.String({ description: 'pool name' })),
    image: Type.Optional(Type.String({ description: 'image name' })),
  }),
  positional: ['image_spec'],
  optionAliases: aliases,
  result: Type.Unsafe<ImageStatusJson>(Type.Object({}, { additionalProperties: true })),
  render: (r) => renderImage(r),
  handler: async (a, ctx) => {
    const d = depsOf(ctx);
    const { pool, image } = spec(ctx, a);
    const cluster = await ctx.cluster();
    // Opening the image gives rbd's ENOENT wording (076).
    const img = await d.images.openImage(cluster, pool, image, { readOnly: true });
    let id: string;
    try {
      id = img.id;
    } finally {
      await img.close();
    }
    const rec = await d.state.getByImageId(cluster, pool, id);
    if (rec?.state !== 'enabled') throw errno('EINVAL', 'ERR_MIRROR_IMAGE_NOT_ENABLED', 'mirroring not enabled on the image');
    return imageJson(image, await serviceOf(ctx).readImageStatus(cluster, pool, rec.globalId));
  },
});

export const poolStatusCommand = defineCommand({
  prefix: 'mirror pool status',
  desc: 'Show status for all mirrored images in the pool (--verbose: daemons and every image).',
  perm: 'r',
  args: Type.Object({
    pool_name: Type.Optional(Type.String({ description: 'pool name' })),
    pool: Type.Optional(Type.String({ description: 'pool name' })),
    verbose: Type.Optional(Type.Boolean({ description: 'be verbose' })),
  }),
  positional: ['pool_name'],
  optionAliases: aliases,
  result: Type.Unsafe<PoolStatusJson>(Type.Object({}, { additionalProperties: true })),
  render: (r) => renderPool(r),
  handler: async (a, ctx) => {
    const pool = a.pool ?? a.pool_name ?? defaultPool(ctx);
    const view = await serviceOf(ctx).readPoolStatus(await ctx.cluster(), pool);
    return poolJson(view, a.verbose === true);
  },
});
