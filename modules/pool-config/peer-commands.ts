/**
 * `mirror pool peer add|remove|set`, checked in rbd's order: arguments first (022–026),
 * then the pool (071), then whether mirroring is enabled (013), then the change itself.
 */
import { Type, defineCommand, errno } from '../../host/index.js';
import { PoolName } from './mode-commands.js';
import type { PeerChanges } from './api.js';
import { parseDirection, parsePeerSetKey, parsePeerSpec, requireUuid } from './rbd-words.js';
import { opsFor } from './service.js';

export const peerAddCommand = defineCommand({
  prefix: 'mirror pool peer add',
  desc: 'Add a mirroring peer to a pool: [client.NAME@]CLUSTER (the peer connects through CLUSTER.conf and its keyring).',
  perm: 'rw',
  args: Type.Object({
    pool: PoolName,
    remote_cluster_spec: Type.Optional(Type.String({ description: 'remote cluster spec, [<client name>@]<cluster name>' })),
  }),
  positional: ['pool', 'remote_cluster_spec'],
  result: Type.String(),
  render: (uuid) => uuid,
  handler: async (a, ctx) => {
    const spec = parsePeerSpec(a.remote_cluster_spec, ctx.conf.entity);
    return opsFor(ctx).addPeer(await ctx.cluster(), a.pool, spec);
  },
});

export const peerRemoveCommand = defineCommand({
  prefix: 'mirror pool peer remove',
  desc: 'Remove a mirroring peer from a pool (an unknown uuid is not an error).',
  perm: 'rw',
  args: Type.Object({ pool: PoolName, uuid: Type.Optional(Type.String({ description: 'peer uuid' })) }),
  positional: ['pool', 'uuid'],
  handler: async (a, ctx) => {
    const uuid = requireUuid(a.uuid);
    await opsFor(ctx).removePeer(await ctx.cluster(), a.pool, uuid);
    return undefined;
  },
});

export const peerSetCommand = defineCommand({
  prefix: 'mirror pool peer set',
  desc: 'Update mirroring peer settings: client, cluster (= site-name) or direction.',
  perm: 'rw',
  args: Type.Object({
    pool: PoolName,
    uuid: Type.Optional(Type.String({ description: 'peer uuid' })),
    key: Type.Optional(Type.String({ description: 'peer parameter (client|cluster|direction|site-name)' })),
    value: Type.Optional(Type.String({ description: 'new value (rx-only, tx-only or rx-tx for direction)' })),
  }),
  positional: ['pool', 'uuid', 'key', 'value'],
  handler: async (a, ctx) => {
    const uuid = requireUuid(a.uuid);
    const key = parsePeerSetKey(a.key);
    const value = a.value ?? '';
    let changes: PeerChanges;
    if (key === 'direction') {
      changes = { direction: parseDirection(value) };
    } else {
      // rbd prints this and then goes on to set an empty value; rbdm refuses instead.
      if (value === '') throw errno('EINVAL', 'ERR_MIRROR_PEER_VALUE', `must specify new ${key} value.`);
      changes = key === 'client' ? { client_name: value } : { site_name: value };
    }
    await opsFor(ctx).updatePeer(await ctx.cluster(), a.pool, uuid, changes);
    return undefined;
  },
});
