/**
 * `rbd bench`: rbd 16.2's benchmark loop and output. The header and the per-second rows
 * stream to stdout while it runs (plain format); the closing `elapsed:` line is the
 * command's rendered result, so `--format json` gets the same numbers as one object.
 */
import { Type, defineCommand, err, formatBytes, formatRate, parseSize, type Static } from '../../host/index.js';
import type { Image } from './api.js';
import { imageSpec, imageSpecAliases, imageSpecArgs, library } from './command-support.js';
import { isErrno, withStep } from './rbd-errors.js';
import { cppDouble } from './text-format.js';

export type IoType = 'read' | 'write' | 'readwrite';
export type IoPattern = 'rand' | 'seq' | 'full-seq';

export interface BenchOptions {
  ioType: IoType;
  ioSize: number;
  ioThreads: number;
  ioTotal: number;
  pattern: IoPattern;
  /** Percentage of reads for `readwrite`. */
  rwMixRead: number;
  /** Where the header and per-second rows go as they happen. */
  out?: NodeJS.WritableStream;
}

const BenchResult = Type.Object({
  io_type: Type.String(),
  io_size: Type.Integer(),
  io_threads: Type.Integer(),
  io_total: Type.Integer(),
  io_pattern: Type.String(),
  /** Seconds. */
  elapsed: Type.Number(),
  ops: Type.Integer(),
  ops_per_sec: Type.Number(),
  bytes_per_sec: Type.Number(),
  read_ops: Type.Optional(Type.Integer()),
  write_ops: Type.Optional(Type.Integer()),
});
export type BenchResult = Static<typeof BenchResult>;

const PATTERN_NAME: Record<IoPattern, string> = { rand: 'random', seq: 'sequential', 'full-seq': 'full sequential' };
/** rbd's rolling window for the per-second rows. */
const WINDOW = 5;

export function benchHeader(o: Omit<BenchOptions, 'out'>): string {
  const mix = o.ioType === 'readwrite' ? ` read:write=${o.rwMixRead}:${100 - o.rwMixRead}` : '';
  return `bench  type ${o.ioType}${mix} io_size ${o.ioSize} io_threads ${o.ioThreads} bytes ${o.ioTotal} pattern ${PATTERN_NAME[o.pattern]}\n` +
    '  SEC       OPS   OPS/SEC   BYTES/SEC\n';
}

export function renderBenchSummary(r: BenchResult): string {
  const e = r.elapsed;
  let s = `elapsed: ${Math.floor(e)}   ops: ${r.ops}   ops/sec: ${cppDouble(r.ops_per_sec)}   bytes/sec: ${formatRate(r.bytes_per_sec)}\n`;
  if (r.read_ops !== undefined && r.write_ops !== undefined) {
    s += `read_ops: ${r.read_ops}   read_ops/sec: ${cppDouble(r.read_ops / e)}   read_bytes/sec: ${formatRate((r.read_ops * r.io_size) / e)}\n`;
    s += `write_ops: ${r.write_ops}   write_ops/sec: ${cppDouble(r.write_ops / e)}   write_bytes/sec: ${formatRate((r.write_ops * r.io_size) / e)}\n`;
  }
  return s;
}

export async function runBench(img: Image, o: BenchOptions): Promise<BenchResult> {
  const size = img.info.size;
  if (o.ioSize > size) {
    throw err('ERR_INVALID_ARGUMENT', `io-size ${formatBytes(o.ioSize)} larger than image size ${formatBytes(size)}`);
  }
  try {
    await img.flush();
  } catch (e) {
    // A read-only image still reads (rbd tolerates EROFS from this flush for reads only).
    if (!(isErrno(e, 'EROFS') && o.ioType === 'read')) throw withStep(e, 'failed to flush');
  }
  o.out?.write(benchHeader(o));
  const readPct = o.ioType === 'read' ? 100 : o.ioType === 'write' ? 0 : o.rwMixRead;
  const data = Buffer.alloc(o.ioSize, Math.floor(Math.random() * 256));
  const slots = Math.floor(size / o.ioSize);
  const seqChunk = Math.floor(size / o.ioSize / o.ioThreads) * o.ioSize;
  const offsets = Array.from({ length: o.ioThreads }, (_, i) =>
    o.pattern === 'rand' ? randomSlot(slots) * o.ioSize : o.pattern === 'seq' ? seqChunk * i : i * o.ioSize);

  let inFlight = 0;
  let wake: (() => void) | undefined;
  let failure: unknown;
  const waitFor = async (max: number) => {
    while (inFlight > max) await new Promise<void>((r) => (wake = r));
  };
  const startIo = (offset: number, read: boolean) => {
    inFlight++;
    // An offset past the end (full-seq with more threads than the image holds) wraps to 0.
    const at = offset + o.ioSize <= size ? offset : 0;
    const op = read ? img.read(at, o.ioSize) : img.write(at, data);
    op.catch((e: unknown) => {
      failure ??= e;
    }).finally(() => {
      inFlight--;
      wake?.();
    });
  };

  const start = performance.now();
  const seconds = () => (performance.now() - start) / 1000;
  let last = 0;
  let ios = 0;
  let off = 0;
  let readOps = 0;
  let writeOps = 0;
  let curIos = 0;
  let curOff = 0;
  const win = { time: [] as number[], ios: [] as number[], off: [] as number[] };
  const push = (a: number[], v: number) => {
    a.push(v);
    if (a.length > WINDOW) a.shift();
  };
  const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);

  while (off < o.ioTotal && failure === undefined) {
    for (let i = 0; i < o.ioThreads && off < o.ioTotal; i++) {
      await waitFor(o.ioThreads - 1);
      if (failure !== undefined) break;
      const read = Math.floor(Math.random() * 100) < readPct;
      startIo(offsets[i]!, read);
      ios++;
      off += o.ioSize;
      curIos++;
      curOff += o.ioSize;
      if (read) readOps++;
      else writeOps++;
    }
    for (let i = 0; i < o.ioThreads; i++) offsets[i] = nextOffset(o, offsets[i]!, i, off, seqChunk, slots, size);
    const elapsed = seconds();
    if (last === 0) last = elapsed;
    else if (Math.floor(elapsed) !== Math.floor(last)) {
      push(win.time, elapsed - last);
      push(win.ios, curIos);
      push(win.off, curOff);
      curIos = 0;
      curOff = 0;
      const t = sum(win.time);
      o.out?.write(`${String(Math.floor(elapsed)).padStart(5)}${String(ios - o.ioThreads).padStart(10)}` +
        `${cppDouble(sum(win.ios) / t).padStart(10)}${formatBytes(sum(win.off) / t).padStart(10)}/s\n`);
      last = elapsed;
    }
  }
  await waitFor(0);
  if (failure !== undefined) throw withStep(failure, 'bench failed');
  if (o.ioType !== 'read') {
    try {
      await img.flush();
    } catch (e) {
      throw withStep(e, 'failed to flush at the end');
    }
  }
  const elapsed = Math.max(seconds(), 1e-6);
  return {
    io_type: o.ioType,
    io_size: o.ioSize,
    io_threads: o.ioThreads,
    io_total: o.ioTotal,
    io_pattern: o.pattern,
    elapsed,
    ops: ios,
    ops_per_sec: ios / elapsed,
    bytes_per_sec: off / elapsed,
    ...(o.ioType === 'readwrite' ? { read_ops: readOps, write_ops: writeOps } : {}),
  };
}

function randomSlot(slots: number): number {
  return Math.floor(Math.random() * slots);
}

/** rbd's per-thread offset update after each round of issues. */
function nextOffset(o: BenchOptions, cur: number, i: number, off: number, seqChunk: number, slots: number, size: number): number {
  if (o.pattern === 'rand') return randomSlot(slots) * o.ioSize;
  if (o.pattern === 'seq') {
    let next = off < seqChunk * o.ioThreads ? cur + o.ioSize : off + i * o.ioSize;
    if (next + o.ioSize > size) next = seqChunk * i;
    return next;
  }
  const next = cur + o.ioSize * o.ioThreads;
  return next >= size ? i * o.ioSize : next;
}

export const benchCommand = defineCommand({
  prefix: 'bench',
  desc: 'Simple benchmark.',
  perm: 'rw',
  args: Type.Object({
    ...imageSpecArgs,
    io_type: Type.Union([Type.Literal('read'), Type.Literal('write'), Type.Literal('readwrite'), Type.Literal('rw')], {
      description: 'IO type (read, write, or readwrite(rw))',
    }),
    io_size: Type.String({ default: '4K', description: 'IO size (in B/K/M/G/T) [default: 4K]' }),
    io_threads: Type.Integer({ default: 16, minimum: 1, description: 'ios in flight [default: 16]' }),
    io_total: Type.String({ default: '1G', description: 'total size for IO (in B/K/M/G/T) [default: 1G]' }),
    io_pattern: Type.Union([Type.Literal('rand'), Type.Literal('seq'), Type.Literal('full-seq')], {
      default: 'seq', description: 'IO pattern (rand, seq, or full-seq) [default: seq]',
    }),
    rw_mix_read: Type.Integer({ default: 50, minimum: 0, maximum: 100, description: 'read proportion in readwrite (<= 100) [default: 50]' }),
  }),
  positional: ['image_spec'],
  optionAliases: imageSpecAliases,
  result: BenchResult,
  render: (r) => renderBenchSummary(r),
  handler: async (args, ctx) => {
    const { pool, image } = imageSpec(ctx, args);
    const ioSize = parseSize(args.io_size, 'B', '--io-size');
    if (ioSize === 0) throw err('ERR_INVALID_ARGUMENT', '--io-size should be greater than zero.');
    const opts: BenchOptions = {
      ioType: args.io_type === 'rw' ? 'readwrite' : args.io_type,
      ioSize,
      ioThreads: args.io_threads,
      ioTotal: parseSize(args.io_total, 'B', '--io-total'),
      pattern: args.io_pattern,
      rwMixRead: args.rw_mix_read,
      ...(ctx.format === 'plain' ? { out: ctx.io.stdout } : {}),
    };
    const img = await library(ctx).openImage(await ctx.cluster(), pool, image, { readOnly: opts.ioType === 'read' });
    try {
      return await runBench(img, opts);
    } finally {
      await img.close();
    }
  },
});
