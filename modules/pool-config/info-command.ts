/**
 * `mirror pool info <pool> [--all]`: rbd 16.2's plain layout (012, 020, 030, 032, 192) and
 * JSON keys (016, 021, 031). Reads only the local pool: no peer needs to be reachable.
 */
import { Type, defineCommand, type Static } from '../../host/index.js';
import type { MirrorPeer } from './api.js';
import { PoolName } from './mode-commands.js';
import { opsFor } from './service.js';

const Peer = Type.Object({
  uuid: Type.String(),
  direction: Type.String(),
  site_name: Type.String(),
  mirror_uuid: Type.String(),
  client_name: Type.String(),
});

const InfoResult = Type.Object({
  mode: Type.String(),
  site_name: Type.Optional(Type.String()),
  peers: Type.Optional(Type.Array(Peer)),
});
type InfoResult = Static<typeof InfoResult>;

/** rbd's format_mirror_peers(): each peer preceded by a blank line, another after all but the last. */
function renderPeer(p: MirrorPeer | Static<typeof Peer>, all: boolean): string[] {
  const lines = [`UUID: ${p.uuid}`, `Name: ${p.site_name}`];
  if (p.direction !== 'rx-only' || p.mirror_uuid !== '') lines.push(`Mirror UUID: ${p.mirror_uuid}`);
  lines.push(`Direction: ${p.direction}`);
  if (p.direction !== 'tx-only' || p.client_name !== '') lines.push(`Client: ${p.client_name}`);
  // rbd shows the peer's config-key secrets here; rbdm stores none (peers connect through
  // their conf and keyring), so the fields stay empty as in 032.
  if (all) lines.push('Mon Host: ', 'Key: ');
  return lines;
}

export function renderInfo(r: InfoResult, all: boolean): string {
  const out = [`Mode: ${r.mode}`];
  if (r.mode === 'disabled') return out.join('\n');
  out.push(`Site Name: ${r.site_name ?? ''}`, '');
  const peers = r.peers ?? [];
  if (peers.length === 0) {
    out.push('Peer Sites: none');
    return out.join('\n');
  }
  out.push('Peer Sites: ');
  peers.forEach((p, i) => {
    out.push('', ...renderPeer(p, all));
    if (i < peers.length - 1) out.push('');
  });
  return out.join('\n');
}

export const infoCommand = defineCommand({
  prefix: 'mirror pool info',
  desc: 'Show mirroring configuration for a pool.',
  perm: 'r',
  args: Type.Object({
    pool: PoolName,
    all: Type.Optional(Type.Boolean({ description: 'list all attributes' })),
  }),
  positional: ['pool'],
  result: InfoResult,
  render: (r, a) => renderInfo(r, a.all === true),
  handler: async (a, ctx) => {
    const m = await opsFor(ctx).get(await ctx.cluster(), a.pool);
    if (m.mode === 'disabled') return { mode: m.mode };
    const peers = m.peers.map(({ uuid, direction, site_name, mirror_uuid, client_name }) => ({ uuid, direction, site_name, mirror_uuid, client_name }));
    return { mode: m.mode, site_name: m.site_name, peers };
  },
});
