/**
 * The image layer (librbd and rbd's image commands). Offers the `images` service to the
 * modules built on it (image-state, journaling, replay); see `api.ts` and README.md.
 */
import { Type, defineModule } from '../../host/index.js';
import { benchCommand } from './bench-command.js';
import { createCommand } from './create-command.js';
import { exportCommand } from './export-command.js';
import { featureDisableCommand, featureEnableCommand } from './feature-command.js';
import { ImageLibrary } from './images-service.js';
import { importCommand } from './import-command.js';
import { infoCommand } from './info-command.js';
import { listCommand } from './list-command.js';
import { removeCommand } from './remove-command.js';
import { resizeCommand } from './resize-command.js';

export type * from './api.js';

export default defineModule({
  name: 'rbd',
  hostApi: '^1',
  desc: 'RBD images: create, ls, info, rm, resize, feature, bench, import, export; the images service',
  options: {
    lock_wait_timeout: {
      schema: Type.Integer({ default: 30, minimum: 0 }),
      desc: 'Seconds a writer waits for another live client to release an image\'s exclusive lock before EBUSY.',
      runtime: true,
    },
  },
  commands: [
    createCommand,
    listCommand,
    infoCommand,
    removeCommand,
    resizeCommand,
    featureEnableCommand,
    featureDisableCommand,
    benchCommand,
    importCommand,
    exportCommand,
  ],
  services: (ctx) => ({
    images: new ImageLibrary({
      conf: ctx.conf,
      log: ctx.log,
      get lockWaitTimeoutMs() {
        return ctx.options.get<number>('lock_wait_timeout') * 1000;
      },
    }),
  }),
});
