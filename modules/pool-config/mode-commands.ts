/**
 * `mirror pool enable <pool> <image|pool> [--site-name NAME]` and `mirror pool disable <pool>`,
 * with rbd 16.2's notices on stdout (019, 015, 109/110) and refusals (073, 074, 198).
 */
import { Type, defineCommand } from '../../host/index.js';
import { parseEnableMode } from './rbd-words.js';
import { opsFor } from './service.js';

export const PoolName = Type.String({ minLength: 1, description: 'pool name' });

export const enableCommand = defineCommand({
  prefix: 'mirror pool enable',
  desc: 'Enable RBD mirroring in a pool.',
  perm: 'rw',
  args: Type.Object({
    pool: PoolName,
    // Optional in the schema so a missing mode gets rbd's own message, not a parser's.
    mode: Type.Optional(Type.String({ description: 'mirror mode (image|pool)' })),
    site_name: Type.Optional(Type.String({ minLength: 1, description: "local site name (default: the cluster's name)" })),
  }),
  positional: ['pool', 'mode'],
  handler: async (a, ctx) => {
    const mode = parseEnableMode(a.mode);
    const r = await opsFor(ctx).setMode(await ctx.cluster(), a.pool, mode, a.site_name !== undefined ? { siteName: a.site_name } : {});
    if (r.previous === mode && !r.siteNameChanged) {
      ctx.io.stdout.write(`rbdm: mirroring is already configured for ${mode} mode\n`);
    } else if (r.previous !== 'disabled' && r.previous !== mode) {
      ctx.io.stdout.write(`note: changing mirroring mode from ${r.previous} to ${mode}\n`);
    }
    return undefined;
  },
});

export const disableCommand = defineCommand({
  prefix: 'mirror pool disable',
  desc: 'Disable RBD mirroring in a pool (refused while peers remain); also disables it on the pool\'s images.',
  perm: 'rw',
  args: Type.Object({ pool: PoolName }),
  positional: ['pool'],
  handler: async (a, ctx) => {
    const r = await opsFor(ctx).setMode(await ctx.cluster(), a.pool, 'disabled');
    if (r.previous === 'disabled') ctx.io.stdout.write('rbdm: mirroring is already disabled\n');
    return undefined;
  },
});
