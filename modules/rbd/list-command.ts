/** `rbd ls [-l] [pool]`: names, or rbd's `ls -l` table (NAME SIZE PARENT FMT PROT LOCK). */
import { Type, defineCommand, formatBytes, type Cluster, type IoCtx, type Static } from '../../host/index.js';
import { defaultPool, library } from './command-support.js';
import { LOCK_NAME } from './exclusive-lock.js';
import { headerObjectName } from './image-directory.js';
import { readHeader } from './image-header.js';
import { openPool } from './open-image.js';
import { isErrno } from './rbd-errors.js';
import { textTable } from './text-format.js';

const LongEntry = Type.Object({
  image: Type.String(),
  id: Type.String(),
  size: Type.Integer(),
  format: Type.Integer(),
  lock_type: Type.Optional(Type.String()),
});
type LongEntry = Static<typeof LongEntry>;

const Result = Type.Union([Type.Array(Type.String()), Type.Array(LongEntry)]);

export const listCommand = defineCommand({
  prefix: 'ls',
  aliases: ['list'],
  desc: 'List rbd images.',
  perm: 'r',
  args: Type.Object({
    pool_spec: Type.Optional(Type.String({ description: 'pool name (default: rbd)' })),
    pool: Type.Optional(Type.String({ description: 'pool name' })),
    long: Type.Optional(Type.Boolean({ description: 'long listing format' })),
  }),
  positional: ['pool_spec'],
  optionAliases: { l: 'long', p: 'pool' },
  result: Result,
  render: (r, args) => (args.long ? renderLong(r as LongEntry[]) : (r as string[]).map((n) => `${n}\n`).join('')),
  handler: async (args, ctx) => {
    const pool = args.pool_spec ?? args.pool ?? defaultPool(ctx);
    const cluster = await ctx.cluster();
    const images = await library(ctx).listImages(cluster, pool);
    if (!args.long) return images.map((i) => i.name);
    return longEntries(cluster, pool, images);
  },
});

async function longEntries(cluster: Cluster, pool: string, images: Array<{ name: string; id: string }>): Promise<LongEntry[]> {
  const ioctx = await openPool(cluster, pool);
  try {
    const out: LongEntry[] = [];
    for (const { name, id } of images) {
      // An image half-way through creation or removal has no header yet (or any more): skip it.
      const header = await readHeader(ioctx, id);
      if (!header) continue;
      const lock = await lockType(ioctx, id);
      out.push({ image: name, id, size: header.size, format: 2, ...(lock ? { lock_type: lock } : {}) });
    }
    return out;
  } finally {
    await ioctx.close();
  }
}

async function lockType(ioctx: IoCtx, id: string): Promise<string | undefined> {
  try {
    const info = await ioctx.getLockInfo(headerObjectName(id), LOCK_NAME);
    if (info.lockers.length === 0) return undefined;
    return info.exclusive ? 'exclusive' : 'shared';
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return undefined;
    throw e;
  }
}

function renderLong(entries: LongEntry[]): string {
  if (entries.length === 0) return '';
  return textTable(
    [
      { header: 'NAME', align: 'left' },
      { header: 'SIZE', align: 'right' },
      { header: 'PARENT', align: 'left' },
      { header: 'FMT', align: 'right' },
      { header: 'PROT', align: 'left' },
      { header: 'LOCK', align: 'left' },
    ],
    entries.map((e) => [e.image, formatBytes(e.size), '', String(e.format), '', e.lock_type === undefined ? '' : e.lock_type === 'exclusive' ? 'excl' : 'shr']),
  );
}
