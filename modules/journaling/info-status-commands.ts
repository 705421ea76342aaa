/**
 * `journal info` and `journal status`: rbd's layouts (065, 066) and JSON keys
 * (tools/rbd/action/Journal.cc, cls::journal::Client::dump).
 */
import { defineCommand, formatBytes, Type } from '../../host/index.js';
import { imageSpec, imageSpecAliases, imageSpecArgs, withJournal } from './command-support.js';
import { headerOid } from './journal-header.js';

const Position = Type.Object({ object_number: Type.Integer(), tag_tid: Type.Integer(), entry_tid: Type.Integer() });

const InfoResult = Type.Object({
  journal_id: Type.String(),
  header_oid: Type.String(),
  object_oid_prefix: Type.String(),
  order: Type.Integer(),
  splay_width: Type.Integer(),
  object_pool: Type.Optional(Type.String()),
});

export const journalInfoCommand = defineCommand({
  prefix: 'journal info',
  desc: 'Show information about image journal.',
  perm: 'r',
  args: Type.Object(imageSpecArgs),
  positional: ['image_spec'],
  optionAliases: imageSpecAliases,
  result: InfoResult,
  render: (r) => [
    `rbd journal '${r.journal_id}':`,
    `\theader_oid: ${r.header_oid}`,
    `\tobject_oid_prefix: ${r.object_oid_prefix}`,
    `\torder: ${r.order} (${formatBytes(2 ** r.order)} objects)`,
    `\tsplay_width: ${r.splay_width}`,
    ...(r.object_pool !== undefined ? [`\tobject_pool: ${r.object_pool}`] : []),
  ].join('\n') + '\n',
  handler: async (a, ctx) => withJournal(ctx, imageSpec(ctx, a), async (j, img) => {
    const meta = await j.read();
    return {
      journal_id: img.id,
      header_oid: headerOid(img.id),
      object_oid_prefix: j.objectPrefix,
      order: meta.order,
      splay_width: meta.splayWidth,
      ...(j.dataIo.poolName !== img.ioctx.poolName ? { object_pool: j.dataIo.poolName } : {}),
    };
  }),
});

const StatusResult = Type.Object({
  minimum_set: Type.Integer(),
  active_set: Type.Integer(),
  registered_clients: Type.Array(Type.Object({
    id: Type.String(),
    data: Type.Record(Type.String(), Type.Unknown()),
    commit_position: Type.Object({ object_positions: Type.Array(Position) }),
    state: Type.Union([Type.Literal('connected'), Type.Literal('disconnected')]),
  })),
});

export const journalStatusCommand = defineCommand({
  prefix: 'journal status',
  desc: 'Show status of image journal.',
  perm: 'r',
  args: Type.Object(imageSpecArgs),
  positional: ['image_spec'],
  optionAliases: imageSpecAliases,
  result: StatusResult,
  render: (r) => [
    `minimum_set: ${r.minimum_set}`,
    `active_set: ${r.active_set}`,
    'registered clients: ',
    ...r.registered_clients.map((c) => {
      const pos = c.commit_position.object_positions
        .map((p) => `[object_number=${p.object_number}, tag_tid=${p.tag_tid}, entry_tid=${p.entry_tid}]`).join(', ');
      return `\t[id=${c.id}, commit_position=[positions=[${pos}]], state=${c.state}]`;
    }),
  ].join('\n') + '\n',
  handler: async (a, ctx) => withJournal(ctx, imageSpec(ctx, a), async (j) => {
    const meta = await j.read();
    return {
      minimum_set: meta.minimumSet,
      active_set: meta.activeSet,
      registered_clients: meta.clients.map((c) => ({
        id: c.id,
        data: c.data,
        commit_position: { object_positions: c.commitPosition.map((p) => ({ object_number: p.objectNumber, tag_tid: p.tagTid, entry_tid: p.entryTid })) },
        state: c.state,
      })),
    };
  }),
});
