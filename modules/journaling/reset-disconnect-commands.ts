/**
 * `journal reset` and `journal client disconnect [--client-id ID]`.
 */
import { defineCommand, err, Type } from '../../host/index.js';
import { imageSpec, imageSpecAliases, imageSpecArgs, withImage, withJournal } from './command-support.js';
import { clientNotFound } from './journal-header.js';
import { RUNTIME } from './runtime.js';
import { IMAGE_CLIENT_ID } from './types.js';

export const journalResetCommand = defineCommand({
  prefix: 'journal reset',
  desc: 'Reset image journal.',
  perm: 'rw',
  args: Type.Object(imageSpecArgs),
  positional: ['image_spec'],
  optionAliases: imageSpecAliases,
  handler: async (a, ctx) => {
    const spec = imageSpec(ctx, a);
    await withImage(ctx, spec, true, async (img) => {
      if ((img.info.features & 64) === 0) {
        throw err('ERR_INVALID_ARGUMENT', `image ${spec.pool}/${spec.image} has no journal: journaling is not enabled`);
      }
      // The flush takes the exclusive lock, which replays what the journal holds first.
      await img.flush();
      await RUNTIME.stage.resetJournal(img);
    });
    return undefined;
  },
});

export const journalClientDisconnectCommand = defineCommand({
  prefix: 'journal client disconnect',
  desc: 'Flag image journal client as disconnected.',
  perm: 'rw',
  args: Type.Object({ ...imageSpecArgs, client_id: Type.Optional(Type.String({ description: 'client ID (or leave unspecified to disconnect all)' })) }),
  positional: ['image_spec'],
  optionAliases: imageSpecAliases,
  handler: async (a, ctx) => {
    const spec = imageSpec(ctx, a);
    if (a.client_id === IMAGE_CLIENT_ID) {
      throw err('ERR_INVALID_ARGUMENT', "the image's own journal client (id '') cannot be disconnected");
    }
    await withJournal(ctx, spec, async (j, img) => {
      const meta = await j.read();
      const ids = a.client_id !== undefined ? [a.client_id] : meta.clients.filter((c) => c.id !== IMAGE_CLIENT_ID).map((c) => c.id);
      if (a.client_id !== undefined && !meta.clients.some((c) => c.id === a.client_id)) throw clientNotFound(a.client_id);
      for (const id of ids) await j.header.updateClient(id, (c) => ({ ...c, state: 'disconnected' }));
      await j.header.notify();
      RUNTIME.health.update(spec.pool, img.name, img.id, await j.read());
    });
    return undefined;
  },
});
