/**
 * `pool create|ls|rm|init`. Pool removal asks for the name twice plus
 * `--yes-i-really-really-mean-it`, like `ceph osd pool rm`, and refuses with EPERM otherwise.
 */
import { defineCommand, errno, Type } from '../../host/index.js';

const PoolName = Type.String({ minLength: 1, maxLength: 255, pattern: '^[^/\\s]+$', description: 'pool name' });

export const poolCommands = [
  defineCommand({
    prefix: 'pool create',
    desc: 'Create a pool.',
    perm: 'rw',
    args: Type.Object({
      pool: PoolName,
      pg_num: Type.Optional(Type.Integer({ minimum: 1, maximum: 65536, description: 'placement groups (accepted for ceph compatibility)' })),
    }),
    positional: ['pool', 'pg_num'],
    handler: async (a, ctx) => {
      const cluster = await ctx.cluster();
      await cluster.createPool(a.pool);
      ctx.io.stderr.write(`pool '${a.pool}' created\n`);
      return undefined;
    },
  }),
  defineCommand({
    prefix: 'pool ls',
    aliases: ['pool list'],
    desc: 'List pools.',
    perm: 'r',
    args: Type.Object({ detail: Type.Optional(Type.Boolean({ description: 'show pool ids' })) }),
    optionAliases: { l: 'detail' },
    result: Type.Array(Type.Union([Type.String(), Type.Object({ pool_id: Type.Integer(), pool_name: Type.String() })])),
    render: (rows) => rows.map((r) => (typeof r === 'string' ? r : `${r.pool_id} ${r.pool_name}`)).join('\n'),
    handler: async (a, ctx) => {
      const pools = (await (await ctx.cluster()).listPools()).sort((x, y) => x.id - y.id);
      return a.detail ? pools.map((p) => ({ pool_id: p.id, pool_name: p.name })) : pools.map((p) => p.name);
    },
  }),
  defineCommand({
    prefix: 'pool rm',
    aliases: ['pool delete'],
    desc: 'Remove a pool and all its data: give its name twice and --yes-i-really-really-mean-it.',
    perm: 'rw',
    args: Type.Object({
      pool: PoolName,
      pool_again: Type.Optional(Type.String({ description: 'the pool name again' })),
      yes_i_really_really_mean_it: Type.Optional(Type.Boolean({ description: 'confirm destruction' })),
    }),
    positional: ['pool', 'pool_again'],
    handler: async (a, ctx) => {
      const cluster = await ctx.cluster();
      await cluster.lookupPool(a.pool);
      if (a.pool_again !== a.pool || a.yes_i_really_really_mean_it !== true) {
        throw errno('EPERM', 'ERR_POOL_RM_UNCONFIRMED',
          `WARNING: this will *PERMANENTLY DESTROY* all data stored in pool ${a.pool}. If you are *ABSOLUTELY CERTAIN* ` +
          'that is what you want, pass the pool name *twice*, followed by --yes-i-really-really-mean-it.');
      }
      await cluster.deletePool(a.pool);
      ctx.io.stderr.write(`pool '${a.pool}' removed\n`);
      return undefined;
    },
  }),
  defineCommand({
    prefix: 'pool init',
    desc: 'Prepare a pool for rbd images (creates its image directory).',
    perm: 'rw',
    args: Type.Object({ pool: PoolName }),
    positional: ['pool'],
    handler: async (a, ctx) => {
      const io = await (await ctx.cluster()).ioctx(a.pool);
      await io.operate('rbd_directory', { steps: [{ op: 'create', exclusive: false }] });
      return undefined;
    },
  }),
];
