/**
 * `rbdm nbd list [--pool P]`: the exports served by running `nbd serve` processes of this
 * cluster (rbd-nbd's `list-mapped`, without devices). Entries of dead servers are pruned.
 */
import { Type, defineCommand } from '../../host/index.js';
import { listExports } from './export-registry.js';

const Entry = Type.Object({
  pool: Type.String(),
  image: Type.String(),
  export_name: Type.String(),
  address: Type.String(),
  read_only: Type.Boolean(),
  pid: Type.Integer(),
  host: Type.String(),
  started: Type.Integer(),
});

export const listCommand = defineCommand({
  prefix: 'nbd list',
  aliases: ['nbd ls'],
  desc: 'List the images exported by running "nbd serve" processes of this cluster.',
  perm: 'r',
  args: Type.Object({ pool: Type.Optional(Type.String({ description: 'only this pool' })) }),
  optionAliases: { p: 'pool' },
  result: Type.Array(Entry),
  render: (rows) => {
    if (rows.length === 0) return '';
    const table = [['PID', 'POOL', 'IMAGE', 'EXPORT', 'ADDRESS', 'MODE'],
      ...rows.map((r) => [String(r.pid), r.pool, r.image, r.export_name, r.address, r.read_only ? 'ro' : 'rw'])];
    const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
    return table.map((row) => row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
  },
  handler: async (a, ctx) => {
    const entries = await listExports(await ctx.cluster(), a.pool);
    return entries.map((e) => ({
      pool: e.pool, image: e.image, export_name: e.export_name, address: e.address,
      read_only: e.read_only, pid: e.pid, host: e.host, started: e.started,
    }));
  },
});
