/**
 * Module `image-state`: per-image mirroring state (enable/disable, primary, global id,
 * resync flag) in the pool's `rbd_mirroring` object, the guard that keeps non-primary images
 * unchanged, rbd's `mirror image enable|disable|promote|demote|resync` and `mirror pool
 * promote|demote`, and the `state` service for the replay daemon. Thin facade; see README.md.
 */
import { defineModule } from '../../host/index.js';
import {
  imageDemoteCommand, imageDisableCommand, imageEnableCommand, imagePromoteCommand, imageResyncCommand,
  poolDemoteCommand, poolPromoteCommand,
} from './commands.js';
import { infoSection } from './info-section.js';
import { registerPoolHooks } from './pool-ops.js';
import { bind, depsOf } from './runtime.js';
import { imageStateService } from './service.js';
import { registerWriteGuard } from './write-guard.js';

export type * from './api.js';

let unregister: Array<() => void> = [];

export default defineModule({
  name: 'image-state',
  hostApi: '^1',
  desc: 'image mirroring state: enable/disable, promote/demote, resync flag, non-primary write guard; the state service',
  dependencies: ['rbd', 'journaling', 'pool-config'],
  commands: [
    imageEnableCommand, imageDisableCommand, imagePromoteCommand, imageDemoteCommand, imageResyncCommand,
    poolPromoteCommand, poolDemoteCommand,
  ],
  services: (ctx) => ({ state: imageStateService(() => depsOf(ctx)) }),
  init: (ctx) => {
    const d = bind(ctx);
    for (const off of unregister) off();
    unregister = [...registerWriteGuard(d), d.images.registerInfoSection(infoSection(d)), registerPoolHooks(d)];
  },
  shutdown: () => {
    for (const off of unregister) off();
    unregister = [];
  },
});
