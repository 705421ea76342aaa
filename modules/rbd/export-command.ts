/**
 * `rbd export <image-spec> [path|-]`: to a file, only blocks holding data are written and
 * the file is then cut to the image size, so the image's holes stay holes; to stdout (`-`)
 * every byte goes out, in order.
 *
 * ```
 *  open image read-only ─ error ─▶ error opening image
 *    ▼
 *  create PATH exclusively ─ exists ─▶ export error: (17) File exists
 *    ▼
 *  object-sized chunks, up to 10 read at once: file → pwrite the data runs;
 *                                              stdout → write in order
 *    ▼ error ─▶ the partial file is removed; export error
 *  file: truncate to the image size; close
 * ```
 */
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { HostError, Type, defineCommand, errno } from '../../host/index.js';
import type { Image } from './api.js';
import { imageSpec, imageSpecAliases, imageSpecArgs, library, progressArg } from './command-support.js';
import { forEachLimited } from './data-objects.js';
import { Progress } from './progress.js';
import { errnoText, withStep } from './rbd-errors.js';
import { dataRuns } from './sparse.js';

const IN_FLIGHT = 10;
/** Granularity of holes in the exported file. */
const HOLE_BLOCK = 4096;

export async function exportToFile(img: Image, path: string, progress: Progress): Promise<void> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'wx', 0o644);
  } catch (e) {
    const he = HostError.wrap(e);
    throw errno(he.errno, 'ERR_RBD_EXPORT_TARGET', `cannot create ${path}: ${errnoText(he.errno)}; export error: ${errnoText(he.errno)}`);
  }
  try {
    await progress.around(async (p) => {
      const { size, objectSize } = img.info;
      const chunks = Array.from({ length: Math.ceil(size / objectSize) }, (_, i) => i);
      let done = 0;
      await forEachLimited(chunks, IN_FLIGHT, async (i) => {
        const pos = i * objectSize;
        const buf = await img.read(pos, Math.min(objectSize, size - pos));
        for (const [s, e] of dataRuns(buf, HOLE_BLOCK)) await fh.write(buf, s, e - s, pos + s);
        p.update(++done, chunks.length);
      });
      await fh.truncate(size);
    });
    await fh.close();
  } catch (e) {
    await fh.close().catch(() => undefined);
    await unlink(path).catch(() => undefined);
    throw withStep(e, 'export error');
  }
}

export async function exportToStream(img: Image, out: NodeJS.WritableStream, progress: Progress): Promise<void> {
  await progress.around(async (p) => {
    const { size, objectSize } = img.info;
    const total = Math.ceil(size / objectSize);
    const reads: Array<Promise<Buffer>> = [];
    const readChunk = (i: number) => {
      const r = img.read(i * objectSize, Math.min(objectSize, size - i * objectSize));
      // Read-ahead that is never awaited (an earlier failure) must not become an unhandled rejection.
      r.catch(() => undefined);
      return r;
    };
    for (let i = 0; i < Math.min(IN_FLIGHT, total); i++) reads.push(readChunk(i));
    for (let i = 0; i < total; i++) {
      const buf = await reads[i]!;
      if (i + IN_FLIGHT < total) reads.push(readChunk(i + IN_FLIGHT));
      await write(out, buf);
      p.update(i + 1, total);
    }
  }).catch((e: unknown) => {
    throw withStep(e, 'export error');
  });
}

/** Writes and waits until the stream has handed the bytes on (backpressure, no loss at exit). */
function write(out: NodeJS.WritableStream, buf: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => reject(e);
    out.once('error', onError);
    out.write(buf, (e?: Error | null) => {
      out.removeListener('error', onError);
      if (e) reject(e);
      else resolve();
    });
  });
}

export const exportCommand = defineCommand({
  prefix: 'export',
  desc: 'Export image to file.',
  perm: 'r',
  args: Type.Object({
    ...imageSpecArgs,
    path: Type.Optional(Type.String({ description: 'export file (or "-" for stdout; default: the image name)' })),
    ...progressArg,
  }),
  positional: ['image_spec', 'path'],
  optionAliases: imageSpecAliases,
  handler: async (args, ctx) => {
    const { pool, image } = imageSpec(ctx, args);
    const path = args.path ?? image;
    const img = await library(ctx).openImage(await ctx.cluster(), pool, image, { readOnly: true });
    try {
      const progress = Progress.forCommand(ctx, args.progress, 'Exporting image');
      if (path === '-') await exportToStream(img, ctx.io.stdout, progress);
      else await exportToFile(img, path, progress);
    } finally {
      await img.close();
    }
    return undefined;
  },
});
