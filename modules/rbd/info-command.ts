/**
 * `rbd info`: rbd 16.2's layout and JSON keys, followed by what later modules registered
 * (journal, mirroring) through `registerInfoSection`.
 */
import { Type, defineCommand, formatBytes } from '../../host/index.js';
import type { Image } from './api.js';
import { imageSpec, imageSpecAliases, imageSpecArgs, library } from './command-support.js';
import { featureNames } from './features.js';
import { HOOKS } from './hooks.js';
import { ctime } from './text-format.js';

const InfoResult = Type.Object({
  name: Type.String(),
  id: Type.String(),
  size: Type.Integer(),
  objects: Type.Integer(),
  order: Type.Integer(),
  object_size: Type.Integer(),
  snapshot_count: Type.Integer(),
  data_pool: Type.Optional(Type.String()),
  block_name_prefix: Type.String(),
  format: Type.Integer(),
  features: Type.Array(Type.String()),
  op_features: Type.Array(Type.String()),
  flags: Type.Array(Type.String()),
  create_timestamp: Type.String(),
  access_timestamp: Type.String(),
  modify_timestamp: Type.String(),
}, { additionalProperties: true });

export type InfoResult = Record<string, unknown> & {
  name: string; id: string; size: number; objects: number; order: number; object_size: number;
  snapshot_count: number; data_pool?: string; block_name_prefix: string; format: number;
  features: string[]; op_features: string[]; flags: string[];
  create_timestamp: string; access_timestamp: string; modify_timestamp: string;
};

export const infoCommand = defineCommand({
  prefix: 'info',
  desc: 'Show information about image size, striping, etc.',
  perm: 'r',
  args: Type.Object({ ...imageSpecArgs }),
  positional: ['image_spec'],
  optionAliases: imageSpecAliases,
  result: InfoResult,
  render: (r) => renderInfo(r as InfoResult),
  handler: async (args, ctx) => {
    const { pool, image } = imageSpec(ctx, args);
    const img = await library(ctx).openImage(await ctx.cluster(), pool, image, { readOnly: true });
    try {
      return await collectInfo(img);
    } finally {
      await img.close();
    }
  },
});

export async function collectInfo(img: Image): Promise<InfoResult> {
  const i = img.info;
  const result: InfoResult = {
    name: i.name,
    id: i.id,
    size: i.size,
    objects: i.numObjects,
    order: i.order,
    object_size: i.objectSize,
    snapshot_count: 0,
    ...(i.dataPool !== undefined ? { data_pool: i.dataPool } : {}),
    block_name_prefix: i.blockNamePrefix,
    format: 2,
    features: featureNames(i.features),
    op_features: [],
    flags: [],
    create_timestamp: ctime(i.createTimestamp),
    access_timestamp: ctime(i.accessTimestamp),
    modify_timestamp: ctime(i.modifyTimestamp),
  };
  for (const section of HOOKS.infoSections.list()) {
    Object.assign(result, await section.collect(img));
  }
  return result;
}

export function renderInfo(r: InfoResult): string {
  const lines = [
    `size ${formatBytes(r.size)} in ${r.objects} objects`,
    `order ${r.order} (${formatBytes(r.object_size)} objects)`,
    `snapshot_count: ${r.snapshot_count}`,
    `id: ${r.id}`,
    ...(r.data_pool !== undefined ? [`data_pool: ${r.data_pool}`] : []),
    `block_name_prefix: ${r.block_name_prefix}`,
    `format: ${r.format}`,
    `features: ${r.features.join(', ')}`,
    `op_features: ${r.op_features.join(', ')}`,
    `flags: ${r.flags.join(', ')}`,
    `create_timestamp: ${r.create_timestamp}`,
    `access_timestamp: ${r.access_timestamp}`,
    `modify_timestamp: ${r.modify_timestamp}`,
  ];
  for (const section of HOOKS.infoSections.list()) lines.push(...section.render(r));
  return `rbd image '${r.name}':\n${lines.map((l) => `\t${l}\n`).join('')}`;
}
