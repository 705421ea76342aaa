/**
 * `rbd import <path|-> [image-spec]`: creates the image sized to the file and writes only
 * the blocks (`--sparse-size`, 4 KiB) that hold data, so holes stay holes.
 *
 * ```
 *  open source ─ error ─▶ error opening PATH
 *    ▼
 *  create image (file size; stdin: one object, grown by doubling) ─ error ─▶ import failed
 *    ▼
 *  per object-sized chunk: write its data runs (up to 10 chunks in flight), progress
 *    ▼ error ─▶ close, remove the half-imported image (as rbd does), import failed
 *  stdin: resize to the bytes read; close
 * ```
 */
import { open, type FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import { HostError, Type, defineCommand, err, errno, parseSize, type Cluster } from '../../host/index.js';
import type { CreateImageOptions, Image, ImagesService } from './api.js';
import { createArgs, imageSpec, imageSpecAliases, imageSpecArgs, library, progressArg } from './command-support.js';
import { parseFeatureNames } from './features.js';
import { Progress } from './progress.js';
import { errnoText, withStep } from './rbd-errors.js';
import { dataRuns } from './sparse.js';

const IN_FLIGHT = 10;

/** Create options of the imported image; its size comes from the source. */
export type CreateImageOptionsLike = Omit<CreateImageOptions, 'size'>;

export interface ImportSource {
  /** A file path; its size sizes the image (regular files). */
  path?: string;
  /** A stream of unknown length (stdin, a pipe). */
  stream?: NodeJS.ReadableStream;
}

export async function importImage(
  lib: ImagesService, cluster: Cluster, pool: string, name: string, source: ImportSource,
  create: CreateImageOptionsLike, sparseSize: number, progress: Progress,
): Promise<void> {
  let fh: FileHandle | undefined;
  let stream = source.stream;
  let size: number | undefined;
  if (source.path !== undefined) {
    fh = await openSource(source.path);
    const st = await fh.stat();
    if (st.isFile()) size = st.size;
    else stream = fh.createReadStream({ autoClose: false });
  }
  try {
    const info = await lib.createImage(cluster, pool, name, { ...create, size: size ?? 0 }).catch((e: unknown) => {
      throw withStep(e, 'import failed');
    });
    const img = await lib.openImage(cluster, pool, name);
    try {
      await progress.around(async (p) => {
        if (size !== undefined && fh) await copyFile(img, fh, size, info.objectSize, sparseSize, p);
        else await copyStream(img, stream!, info.objectSize, sparseSize);
      });
      await img.close();
    } catch (e) {
      await img.close().catch(() => undefined);
      await lib.removeImage(cluster, pool, name).catch(() => undefined);
      throw withStep(e, 'import failed');
    }
  } finally {
    await fh?.close();
  }
}

async function openSource(path: string): Promise<FileHandle> {
  try {
    return await open(path, 'r');
  } catch (e) {
    const he = HostError.wrap(e);
    throw errno(he.errno, 'ERR_RBD_IMPORT_SOURCE', `error opening ${path}: ${errnoText(he.errno)}`);
  }
}

function writeRuns(img: Image, offset: number, chunk: Buffer, sparseSize: number): Promise<unknown> {
  return Promise.all(dataRuns(chunk, sparseSize).map(([s, e]) => img.write(offset + s, chunk.subarray(s, e))));
}

async function copyFile(img: Image, fh: FileHandle, size: number, chunkSize: number, sparseSize: number, p: Progress): Promise<void> {
  const inFlight = new Set<Promise<unknown>>();
  let failure: unknown;
  for (let pos = 0; pos < size && failure === undefined; pos += chunkSize) {
    const len = Math.min(chunkSize, size - pos);
    const chunk = Buffer.alloc(len);
    const { bytesRead } = await fh.read(chunk, 0, len, pos);
    if (bytesRead !== len) throw err('ERR_INVALID_ARGUMENT', `the file shrank while importing (short read at ${pos})`);
    const op: Promise<unknown> = writeRuns(img, pos, chunk, sparseSize)
      .catch((e: unknown) => { failure ??= e; })
      .finally(() => inFlight.delete(op));
    inFlight.add(op);
    if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
    p.update(pos + len, size);
  }
  await Promise.all(inFlight);
  if (failure !== undefined) throw failure;
}

/** Length unknown: grow the image by doubling as data arrives, then cut it to what was read. */
async function copyStream(img: Image, stream: NodeJS.ReadableStream, chunkSize: number, sparseSize: number): Promise<void> {
  let pos = 0;
  let pending: Buffer[] = [];
  let pendingLen = 0;
  const flushChunk = async (chunk: Buffer) => {
    const end = pos + chunk.length;
    if (end > img.info.size) await img.resize(Math.max(end, img.info.size * 2, chunkSize));
    await writeRuns(img, pos, chunk, sparseSize);
    pos = end;
  };
  for await (const piece of stream as AsyncIterable<Buffer | string>) {
    const buf = typeof piece === 'string' ? Buffer.from(piece) : piece;
    pending.push(buf);
    pendingLen += buf.length;
    while (pendingLen >= chunkSize) {
      const all = Buffer.concat(pending);
      await flushChunk(all.subarray(0, chunkSize));
      pending = [all.subarray(chunkSize)];
      pendingLen = all.length - chunkSize;
    }
  }
  if (pendingLen > 0) await flushChunk(Buffer.concat(pending));
  if (img.info.size !== pos) await img.resize(pos, { allowShrink: true });
}

export const importCommand = defineCommand({
  prefix: 'import',
  desc: 'Import image from file.',
  perm: 'rw',
  args: Type.Object({
    path: Type.String({ description: 'import file (or "-" for stdin)' }),
    ...imageSpecArgs,
    ...createArgs,
    sparse_size: Type.String({ default: '4K', description: 'sparse size in B/K/M [default: 4K]' }),
    ...progressArg,
  }),
  positional: ['path', 'image_spec'],
  optionAliases: imageSpecAliases,
  handler: async (args, ctx) => {
    const fromStdin = args.path === '-';
    // As rbd: without a destination the image is named after the file.
    const spec = args.image ?? args.image_spec ?? (fromStdin ? undefined : basename(args.path));
    const { pool, image } = imageSpec(ctx, { ...args, ...(spec !== undefined ? { image_spec: spec } : {}) });
    const sparseSize = parseSize(args.sparse_size, 'B', '--sparse-size');
    if (sparseSize < 512 || sparseSize % 512 !== 0) {
      throw err('ERR_INVALID_ARGUMENT', `--sparse-size must be a multiple of 512 bytes, got ${sparseSize}`);
    }
    const create: CreateImageOptionsLike = {
      ...(args.image_feature ? { features: parseFeatureNames(args.image_feature) } : {}),
      ...(args.object_size !== undefined ? { objectSize: parseSize(args.object_size, 'B', '--object-size') } : {}),
      ...(args.data_pool !== undefined ? { dataPool: args.data_pool } : {}),
    };
    // Progress needs a known length: none for stdin, as rbd.
    const progress = fromStdin ? new Progress(undefined, '') : Progress.forCommand(ctx, args.progress, 'Importing image');
    await importImage(library(ctx), await ctx.cluster(), pool, image, fromStdin ? { stream: ctx.io.stdin } : { path: args.path },
      create, sparseSize, progress);
    return undefined;
  },
});
