/**
 * Module `pool-config`: a pool's mirroring configuration (rbd's `mirror pool enable|disable|
 * info|peer add|remove|set`) and the `mirroring` service the replay daemon and the image
 * mirroring modules build on. Thin facade; see README.md and api.ts.
 */
import { defineModule } from '../../host/index.js';
import { infoCommand } from './info-command.js';
import { disableCommand, enableCommand } from './mode-commands.js';
import { peerAddCommand, peerRemoveCommand, peerSetCommand } from './peer-commands.js';
import { mirroringService } from './service.js';

export type * from './api.js';

export default defineModule({
  name: 'pool-config',
  hostApi: '^1',
  desc: 'pool mirroring configuration: mode, site identity, peers; the mirroring service',
  commands: [enableCommand, disableCommand, infoCommand, peerAddCommand, peerRemoveCommand, peerSetCommand],
  services: (ctx) => ({ mirroring: mirroringService(ctx) }),
});
