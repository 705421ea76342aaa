/** `rbd rm`: refuses (EBUSY) while a client has the image open. */
import { Type, defineCommand } from '../../host/index.js';
import { imageSpec, imageSpecAliases, imageSpecArgs, library, progressArg } from './command-support.js';
import { Progress } from './progress.js';

export const removeCommand = defineCommand({
  prefix: 'rm',
  aliases: ['remove'],
  desc: 'Delete an image.',
  perm: 'rw',
  args: Type.Object({ ...imageSpecArgs, ...progressArg }),
  positional: ['image_spec'],
  optionAliases: imageSpecAliases,
  handler: async (args, ctx) => {
    const { pool, image } = imageSpec(ctx, args);
    const cluster = await ctx.cluster();
    const lib = library(ctx);
    await Progress.forCommand(ctx, args.progress, 'Removing image').around((p) =>
      lib.removeImage(cluster, pool, image, { onProgress: (d, t) => p.update(d, t) }));
    return undefined;
  },
});
