/**
 * Journaling: per-image write-ahead journals (Ceph's journal format and rules), the write
 * stage that makes every write to a journaled image durable in its journal first, the
 * `journal` commands, and the `journals` service. See README.md.
 */
import { defineModule } from '../../host/index.js';
import type { ImagesService } from '../rbd/api.js';
import { journalExportCommand, journalImportCommand } from './export-import-commands.js';
import { journalInfoCommand, journalStatusCommand } from './info-status-commands.js';
import { journalInspectCommand } from './inspect-command.js';
import { Journal } from './journal.js';
import { journalClientDisconnectCommand, journalResetCommand } from './reset-disconnect-commands.js';
import { RUNTIME } from './runtime.js';
import { OPTIONS, readSettings } from './settings.js';

export type * from './journals-service.js';

export default defineModule({
  name: 'journaling',
  hostApi: '^1',
  desc: 'Image journals: write-ahead logging of journaled images, journal commands, the journals service',
  dependencies: ['rbd'],
  options: OPTIONS,
  commands: [
    journalInfoCommand, journalStatusCommand, journalInspectCommand, journalExportCommand, journalImportCommand,
    journalResetCommand, journalClientDisconnectCommand,
  ],
  services: () => ({ journals: RUNTIME.service }),
  init: (ctx) => RUNTIME.bind(ctx),
  serve: async (ctx, signal) => {
    while (!signal.aborted) {
      try {
        await scanHealth(ctx);
      } catch (e) {
        ctx.log.warn('journal health scan failed', e);
      }
      await new Promise<void>((r) => {
        const t = setTimeout(r, readSettings(ctx).healthIntervalMs);
        signal.addEventListener('abort', () => { clearTimeout(t); r(); }, { once: true });
      });
    }
  },
});

/** The daemon's view: every journal of every pool, for RBD_MIRROR_JOURNAL_CLIENT_DISCONNECTED. */
async function scanHealth(ctx: Parameters<NonNullable<Parameters<typeof defineModule>[0]['serve']>>[0]): Promise<void> {
  const cluster = await ctx.cluster();
  const images = ctx.service<ImagesService>('rbd', 'images');
  const seen = [];
  for (const p of await cluster.listPools()) {
    if (p.name === '.mgr') continue;
    const list = await images.listImages(cluster, p.name).catch(() => []);
    for (const im of list) {
      const j = await Journal.open(cluster, p.name, im.id).catch(() => undefined);
      if (!j) continue;
      try {
        seen.push({ pool: p.name, imageName: im.name, imageId: im.id, meta: await j.read() });
      } finally {
        await j.close();
      }
    }
  }
  RUNTIME.health.replace(seen);
}
