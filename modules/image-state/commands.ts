/**
 * `mirror image enable|disable|promote|demote|resync` and `mirror pool promote|demote`, with
 * rbd 16.2's messages on stdout (113, 115, 137, 141, 163, 171) and refusals (077–082, 085, 140,
 * 172). Specs as rbd: `[pool/]image`, `--pool/-p`, `--image`.
 */
import { HostError, Type, defineCommand, err, type CommandContext } from '../../host/index.js';
import { hasJournaling, poolMode, targetByName, withIo, type Target } from './deps.js';
import { disableImage, enableRecord } from './enable-disable.js';
import { ensureLocalOwner, demote, promote, resync } from './ownership.js';
import { poolOwnership } from './pool-ops.js';
import { readRecord } from './record-store.js';
import { disableInPoolMode, enableNotImageMode, invalidModeName, snapshotModeUnsupported } from './rbd-words.js';
import { depsOf } from './runtime.js';

const specArgs = {
  image_spec: Type.Optional(Type.String({ description: 'image specification: [pool/]image' })),
  pool: Type.Optional(Type.String({ description: 'pool name (default: rbd default pool, "rbd")' })),
  image: Type.Optional(Type.String({ description: 'image name' })),
};
const aliases = { p: 'pool' };

function spec(ctx: CommandContext, a: { image_spec?: string | undefined; pool?: string | undefined; image?: string | undefined }): { pool: string; image: string } {
  const s = a.image ?? a.image_spec;
  if (s === undefined || s === '') throw err('ERR_INVALID_ARGUMENT', 'image name was not specified');
  const parts = s.split('/');
  if (parts.length > 2 || parts.some((p) => p === '' || p.includes('@'))) throw err('ERR_INVALID_ARGUMENT', `invalid image spec '${s}': expected [pool/]image`);
  const dflt = ctx.conf.get('rbd_default_pool');
  const pool = parts.length === 2 ? parts[0]! : a.pool ?? (dflt === undefined || dflt === '' ? 'rbd' : dflt);
  return { pool, image: parts[parts.length - 1]! };
}

async function target(ctx: CommandContext, a: Parameters<typeof spec>[1]): Promise<Target> {
  const { pool, image } = spec(ctx, a);
  return targetByName(depsOf(ctx), await ctx.cluster(), pool, image);
}

export const imageEnableCommand = defineCommand({
  prefix: 'mirror image enable',
  desc: 'Enable RBD mirroring for an image (journal mode; enables journaling if needed).',
  perm: 'rw',
  args: Type.Object({ ...specArgs, mode: Type.Optional(Type.String({ description: 'mirror image mode: journal (snapshot is not supported)' })) }),
  positional: ['image_spec', 'mode'],
  optionAliases: aliases,
  handler: async (a, ctx) => {
    // The mode word is checked before anything is opened, as rbd does (085).
    if (a.mode !== undefined && a.mode !== 'journal') throw a.mode === 'snapshot' ? snapshotModeUnsupported() : invalidModeName(a.mode);
    const d = depsOf(ctx);
    const t = await target(ctx, a);
    if ((await poolMode(d, t.cluster, t.pool)) !== 'image') throw enableNotImageMode();
    const rec = await withIo(t.cluster, t.pool, (io) => readRecord(io, t.id));
    if (rec?.state !== 'enabled') {
      if (!hasJournaling(d, t.features)) {
        // 113/114: rbd turns journaling on itself (journal is the default mirror mode).
        const img = await d.images.openImage(t.cluster, t.pool, t.name);
        try {
          await img.updateFeatures(d.images.features.journaling!, true);
        } finally {
          await img.close();
        }
      } else {
        await ensureLocalOwner(d, t);
      }
      await enableRecord(t, { primary: true });
    }
    ctx.io.stdout.write('Mirroring enabled\n');
    return undefined;
  },
});

export const imageDisableCommand = defineCommand({
  prefix: 'mirror image disable',
  desc: 'Disable RBD mirroring for an image (removes journaling); --force for a non-primary image.',
  perm: 'rw',
  args: Type.Object({ ...specArgs, force: Type.Optional(Type.Boolean({ description: 'disable even if not primary' })) }),
  positional: ['image_spec'],
  optionAliases: aliases,
  handler: async (a, ctx) => {
    const d = depsOf(ctx);
    const t = await target(ctx, a);
    if ((await poolMode(d, t.cluster, t.pool)) === 'pool') throw disableInPoolMode();
    await disableImage(d, t, { removeJournaling: true, ...(a.force ? { force: true } : {}) });
    ctx.io.stdout.write('Mirroring disabled\n');
    return undefined;
  },
});

export const imagePromoteCommand = defineCommand({
  prefix: 'mirror image promote',
  desc: 'Promote an image to primary for RBD mirroring (--force: even if the peer has not demoted).',
  perm: 'rw',
  args: Type.Object({ ...specArgs, force: Type.Optional(Type.Boolean({ description: 'promote even if the demotion has not propagated (split-brain possible)' })) }),
  positional: ['image_spec'],
  optionAliases: aliases,
  handler: async (a, ctx) => {
    await promote(depsOf(ctx), await target(ctx, a), a.force ? { force: true } : {});
    ctx.io.stdout.write('Image promoted to primary\n');
    return undefined;
  },
});

export const imageDemoteCommand = defineCommand({
  prefix: 'mirror image demote',
  desc: 'Demote an image to non-primary for RBD mirroring.',
  perm: 'rw',
  args: Type.Object(specArgs),
  positional: ['image_spec'],
  optionAliases: aliases,
  handler: async (a, ctx) => {
    await demote(depsOf(ctx), await target(ctx, a));
    ctx.io.stdout.write('Image demoted to non-primary\n');
    return undefined;
  },
});

export const imageResyncCommand = defineCommand({
  prefix: 'mirror image resync',
  desc: 'Force resync to primary image for RBD mirroring (flags a non-primary image for the daemon).',
  perm: 'rw',
  args: Type.Object(specArgs),
  positional: ['image_spec'],
  optionAliases: aliases,
  handler: async (a, ctx) => {
    await resync(await target(ctx, a));
    ctx.io.stdout.write('Flagged image for resync from primary\n');
    return undefined;
  },
});

function poolCommand(verb: 'promote' | 'demote') {
  return defineCommand({
    prefix: `mirror pool ${verb}`,
    desc: verb === 'demote' ? 'Demote all primary images in the pool.' : 'Promote all non-primary images in the pool.',
    perm: 'rw',
    args: Type.Object({
      pool: Type.String({ minLength: 1, description: 'pool name' }),
      ...(verb === 'promote' ? { force: Type.Optional(Type.Boolean({ description: 'promote even if the demotion has not propagated' })) } : {}),
    }),
    positional: ['pool'],
    handler: async (a, ctx) => {
      const force = (a as { force?: boolean }).force === true;
      const r = await poolOwnership(depsOf(ctx), await ctx.cluster(), a.pool, verb, force ? { force } : {});
      // Every failure but the last goes to stderr now; the last is the command's error, so
      // the exit code is its errno after the count is printed, as rbd does (172).
      for (const f of r.failures.slice(0, -1)) ctx.io.stderr.write(`rbdm: ${f}\n`);
      ctx.io.stdout.write(`${verb === 'demote' ? 'Demoted' : 'Promoted'} ${r.count} mirrored images\n`);
      if (r.error) throw new HostError(r.error.code, r.error.errno, r.failures[r.failures.length - 1]!, { cause: r.error });
      return undefined;
    },
  });
}

export const poolPromoteCommand = poolCommand('promote');
export const poolDemoteCommand = poolCommand('demote');
