/** `rbd feature enable|disable <image-spec> <feature...>`. */
import { Type, defineCommand } from '../../host/index.js';
import { imageSpec, imageSpecAliases, imageSpecArgs, library } from './command-support.js';
import { parseFeatureNames } from './features.js';

function featureCommand(enabled: boolean) {
  return defineCommand({
    prefix: `feature ${enabled ? 'enable' : 'disable'}`,
    desc: `${enabled ? 'Enable' : 'Disable'} the specified image feature.`,
    perm: 'rw',
    // The spec is required here: yargs fills a required variadic positional before an
    // optional one, so `feature enable SPEC journaling` needs SPEC to be required.
    args: Type.Object({
      image_spec: Type.String({ description: 'image specification: [pool/]image' }),
      pool: imageSpecArgs.pool,
      features: Type.Array(Type.String(), {
        minItems: 1,
        description: 'image features (exclusive-lock, object-map, fast-diff, journaling' + (enabled ? ')' : ', deep-flatten)'),
      }),
    }),
    positional: ['image_spec', 'features'],
    optionAliases: imageSpecAliases,
    handler: async (args, ctx) => {
      const { pool, image } = imageSpec(ctx, args);
      const mask = parseFeatureNames(args.features);
      const img = await library(ctx).openImage(await ctx.cluster(), pool, image);
      try {
        await img.updateFeatures(mask, enabled);
      } finally {
        await img.close();
      }
      return undefined;
    },
  });
}

export const featureEnableCommand = featureCommand(true);
export const featureDisableCommand = featureCommand(false);
