/**
 * Module `replay`: the mirror daemon's replay of peer pools into this cluster (journal
 * mode, pool mode, one direction). Runs only in `rbdm-mirror` (`serve`). See README.md.
 */
import { defineModule } from '../../host/index.js';
import type { ImageStateService } from '../image-state/api.js';
import type { JournalsService } from '../journaling/journals-service.js';
import type { PoolMirroringService } from '../pool-config/api.js';
import type { ImagesService } from '../rbd/api.js';
import type { StatusService } from '../status/api.js';
import { MirrorAdminCommands } from './admin-commands.js';
import { Mirror } from './mirror.js';

export default defineModule({
  name: 'replay',
  hostApi: '^1',
  desc: 'mirror daemon: bootstrap, full sync and journal replay of peer images',
  dependencies: ['rbd', 'journaling', 'image-state', 'pool-config', 'status'],
  serve: async (ctx, signal) => {
    const deps = {
      images: ctx.service<ImagesService>('rbd', 'images'),
      journals: ctx.service<JournalsService>('journaling', 'journals'),
      state: ctx.service<ImageStateService>('image-state', 'state'),
      mirroring: ctx.service<PoolMirroringService>('pool-config', 'mirroring'),
      records: ctx.service<StatusService>('status', 'records'),
      log: ctx.log,
      conf: ctx.conf,
      pool: ctx.pool,
      local: await ctx.cluster(),
    };
    const mirror = new Mirror(deps);
    // `rbd mirror status|restart|flush|start|stop` on the daemon's admin socket.
    const admin = new MirrorAdminCommands(ctx.adminSocket, mirror, deps);
    admin.start();
    try {
      await mirror.run(signal);
    } finally {
      admin.stop();
    }
  },
});
