/** `rbd resize`: growing is a header change; shrinking needs `--allow-shrink`, as in rbd. */
import { Type, defineCommand, parseSize } from '../../host/index.js';
import { imageSpec, imageSpecAliases, imageSpecArgs, library, progressArg } from './command-support.js';
import { Progress } from './progress.js';
import { checkShrink } from './image.js';

export const resizeCommand = defineCommand({
  prefix: 'resize',
  desc: 'Resize (expand or shrink) image.',
  perm: 'rw',
  args: Type.Object({
    ...imageSpecArgs,
    size: Type.String({ description: 'new image size in B/K/M/G/T (default unit M)' }),
    allow_shrink: Type.Optional(Type.Boolean({ description: 'permit shrinking' })),
    ...progressArg,
  }),
  positional: ['image_spec'],
  optionAliases: { ...imageSpecAliases, s: 'size' },
  handler: async (args, ctx) => {
    const { pool, image } = imageSpec(ctx, args);
    const size = parseSize(args.size, 'M', '--size');
    const img = await library(ctx).openImage(await ctx.cluster(), pool, image);
    try {
      // Refused before any progress line, as rbd does.
      checkShrink(img.info.size, size, args.allow_shrink === true);
      await Progress.forCommand(ctx, args.progress, 'Resizing image').around((p) =>
        img.resize(size, { allowShrink: args.allow_shrink === true, onProgress: (d, t) => p.update(d, t) }));
    } finally {
      await img.close();
    }
    return undefined;
  },
});
