/**
 * Module `status`: per-image mirror status records and daemon heartbeats (written by the
 * replay daemon through the `records` service), and rbd's `mirror image status` and
 * `mirror pool status [--verbose]`. Thin facade; see README.md.
 */
import { defineModule } from '../../host/index.js';
import { imageStatusCommand, poolStatusCommand } from './commands.js';
import { bind, serviceOf } from './runtime.js';

export type * from './api.js';

export default defineModule({
  name: 'status',
  hostApi: '^1',
  desc: 'mirror status: image status records, daemon heartbeats, mirror image/pool status',
  dependencies: ['rbd', 'pool-config', 'image-state'],
  commands: [imageStatusCommand, poolStatusCommand],
  services: (ctx) => ({ records: serviceOf(ctx) }),
  init: (ctx) => { bind(ctx); },
});
