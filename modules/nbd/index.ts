/**
 * NBD export of images (`rbdm nbd serve`, `rbdm nbd list`): a Network Block Device server
 * on top of the `rbd` module's images service. See README.md.
 */
import { defineModule } from '../../host/index.js';
import { listCommand } from './list-command.js';
import { serveCommand } from './serve-command.js';

export default defineModule({
  name: 'nbd',
  hostApi: '^1',
  desc: 'NBD export of images: nbd serve, nbd list',
  dependencies: ['rbd'],
  commands: [serveCommand, listCommand],
});
