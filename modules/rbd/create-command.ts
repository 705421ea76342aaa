/** `rbd create`. */
import { Type, defineCommand, parseSize } from '../../host/index.js';
import { createArgs, imageSpec, imageSpecAliases, imageSpecArgs, library } from './command-support.js';
import { parseFeatureNames } from './features.js';

export const createCommand = defineCommand({
  prefix: 'create',
  desc: 'Create an empty image.',
  perm: 'rw',
  args: Type.Object({
    ...imageSpecArgs,
    size: Type.String({ description: 'image size in B/K/M/G/T (default unit M)' }),
    ...createArgs,
  }),
  positional: ['image_spec'],
  optionAliases: { ...imageSpecAliases, s: 'size' },
  handler: async (args, ctx) => {
    const { pool, image } = imageSpec(ctx, args);
    const size = parseSize(args.size, 'M', '--size');
    await library(ctx).createImage(await ctx.cluster(), pool, image, {
      size,
      ...(args.image_feature ? { features: parseFeatureNames(args.image_feature) } : {}),
      ...(args.object_size !== undefined ? { objectSize: parseSize(args.object_size, 'B', '--object-size') } : {}),
      ...(args.data_pool !== undefined ? { dataPool: args.data_pool } : {}),
    });
    return undefined;
  },
});
