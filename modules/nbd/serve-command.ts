/**
 * `rbdm nbd serve POOL/IMAGE`: serves one image over NBD in the foreground until SIGINT or
 * SIGTERM, like qemu-nbd or rbd-nbd without the kernel device. stdout stays empty; stderr
 * gets notices, then one ready line (`listening on 127.0.0.1:PORT` / `listening on
 * unix:PATH`) that scripts wait for, then diagnostics.
 */
import { Type, defineCommand, err, type CommandContext } from '../../host/index.js';
import type { Image, ImagesService } from '../rbd/api.js';
import { register, type Registration } from './export-registry.js';
import { imageExport } from './image-export.js';
import { NbdServer } from './nbd-server.js';
import { listenAddress, parseSpec } from './serve-args.js';

const ServeArgs = Type.Object({
  image_spec: Type.String({ description: 'image specification: [pool/]image' }),
  bind: Type.Optional(Type.String({ description: 'TCP address HOST:PORT to listen on (default 127.0.0.1:10809; port 0 picks a free one)' })),
  socket: Type.Optional(Type.String({ description: 'Unix socket path to listen on instead of TCP' })),
  read_only: Type.Optional(Type.Boolean({ description: 'export read-only: writes get EPERM' })),
  export_name: Type.Optional(Type.String({ description: 'NBD export name (default: the image name; the empty name also selects it)' })),
});

export const serveCommand = defineCommand({
  prefix: 'nbd serve',
  desc: 'Serve an image over NBD in the foreground until SIGINT/SIGTERM (prints "listening on ADDRESS" on stderr when ready).',
  perm: 'rw',
  args: ServeArgs,
  positional: ['image_spec'],
  handler: async (a, ctx) => {
    await serve(a, ctx);
    return undefined;
  },
});

function defaultPool(ctx: CommandContext): string {
  const v = ctx.conf.get('rbd_default_pool');
  return v === undefined || v === '' ? 'rbd' : v;
}

async function serve(a: typeof ServeArgs.static, ctx: CommandContext): Promise<void> {
  // Every argument is checked before anything is opened.
  const { pool, image } = parseSpec(a.image_spec, defaultPool(ctx));
  const addr = listenAddress(a);
  const exportName = a.export_name ?? image;
  if (exportName.includes('\0') || Buffer.byteLength(exportName) > 4096) {
    throw err('ERR_INVALID_ARGUMENT', 'invalid --export-name: at most 4096 bytes, no NUL');
  }
  const say = (line: string) => ctx.io.stderr.write(`${line}\n`);
  const images = ctx.service<ImagesService>('rbd', 'images');
  const cluster = await ctx.cluster();

  const { img, readOnly } = await openForExport(images, ctx, pool, image, a.read_only === true, say);
  let server: NbdServer | undefined;
  let reg: Registration | undefined;
  const stopSignals = waitForStop(ctx.signal);
  try {
    server = new NbdServer({ exports: [imageExport(img, exportName, readOnly)], warn: (m) => say(`rbdm nbd: ${m}`) });
    const address = await server.listen(addr);
    try {
      const ioctx = await cluster.ioctx(pool);
      reg = await register(ioctx, { pool, image, export_name: exportName, address, read_only: readOnly }, cluster.instanceId);
    } catch (e) {
      // Serving matters more than being listed; say why `nbd list` will not show it.
      say(`rbdm nbd: warning: not registered for 'nbd list': ${(e as Error).message}`);
    }
    say(`listening on ${address}`);
    const sig = await stopSignals.promise;
    ctx.log.info(`nbd serve: ${sig}, stopping`);
  } finally {
    stopSignals.dispose();
    await server?.close();
    await reg?.remove().catch((e: unknown) => say(`rbdm nbd: warning: could not unregister: ${(e as Error).message}`));
    await img.close();
  }
}

/**
 * Opens the image for writing unless told otherwise, and asks the write path once (a
 * flush runs the stages' `beforeLock` and takes the exclusive lock): a stage refusing with
 * EROFS means a non-primary image, which is then exported read-only through a read-only
 * handle (no header watch, no lock, so the mirror daemon's replay is not in the way).
 */
async function openForExport(images: ImagesService, ctx: CommandContext, pool: string, image: string, readOnly: boolean,
  say: (l: string) => void): Promise<{ img: Image; readOnly: boolean }> {
  const cluster = await ctx.cluster();
  if (readOnly) {
    const img = await images.openImage(cluster, pool, image, { readOnly: true });
    say(`rbdm nbd: exporting ${pool}/${image} read-only (--read-only): writes get EPERM`);
    return { img, readOnly: true };
  }
  const img = await images.openImage(cluster, pool, image);
  try {
    await img.flush();
    return { img, readOnly: false };
  } catch (e) {
    await img.close().catch(() => undefined);
    if ((e as { errno?: string }).errno !== 'EROFS') throw e;
    say(`rbdm nbd: image ${pool}/${image} refuses writes (${(e as Error).message}): exporting read-only, writes get EPERM`);
    return { img: await images.openImage(cluster, pool, image, { readOnly: true }), readOnly: true };
  }
}

/** Resolves on SIGINT, SIGTERM or the host's shutdown; the handlers replace the default exit. */
function waitForStop(signal: AbortSignal): { promise: Promise<string>; dispose(): void } {
  let resolve!: (s: string) => void;
  const promise = new Promise<string>((r) => (resolve = r));
  const onInt = () => resolve('SIGINT');
  const onTerm = () => resolve('SIGTERM');
  const onAbort = () => resolve('host shutdown');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  signal.addEventListener('abort', onAbort);
  if (signal.aborted) onAbort();
  return {
    promise,
    dispose: () => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      signal.removeEventListener('abort', onAbort);
    },
  };
}
