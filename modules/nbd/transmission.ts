/**
 * The transmission phase of one connection: requests in, simple replies out.
 *
 * Requests are read one after another but served concurrently (replies may go out of
 * order, as the protocol allows), bounded per connection by a count and a byte budget so
 * a pipelining client cannot make the server hold unbounded data. Each reply is written
 * whole (header and payload corked together), so replies never interleave.
 *
 * Hostile input: a bad request magic ends the connection (nothing after it can be
 * framed); an unknown command, a flag not valid for the command, or a range past the end
 * get an error reply and the connection goes on; a READ longer than MAX_PAYLOAD gets
 * EINVAL; a WRITE longer than MAX_PAYLOAD has its payload skipped unbuffered, then EINVAL.
 * A truncated request just ends the connection; nothing partial reaches the image.
 */
import type { Socket } from 'node:net';
import { HostError } from '../../host/index.js';
import type { ByteReader } from './byte-reader.js';
import type { NbdExport } from './image-export.js';
import {
  MAX_PAYLOAD, NBD_CMD_DISC, NBD_CMD_FLAG_FUA, NBD_CMD_FLAG_NO_HOLE, NBD_CMD_FLUSH, NBD_CMD_READ, NBD_CMD_TRIM,
  NBD_CMD_WRITE, NBD_CMD_WRITE_ZEROES, NBD_EINVAL, NBD_EIO, NBD_ENOMEM, NBD_ENOSPC, NBD_EPERM,
  NBD_REQUEST_MAGIC, NBD_SIMPLE_REPLY_MAGIC, REQUEST_HEADER_SIZE,
} from './nbd-constants.js';

/** Requests served at once on one connection. */
const MAX_IN_FLIGHT = 64;
/** Payload bytes (write data held, read data to come) in flight on one connection. */
const IN_FLIGHT_BYTES = 64 * 1024 * 1024;
/** Zero buffer for WRITE_ZEROES with NO_HOLE, written piecewise through the image. */
const ZERO_CHUNK = 4 * 1024 * 1024;
let zeroChunk: Buffer | undefined;

export interface TransmissionEvents {
  /** Something worth a line on the server's stderr (I/O failures, protocol violations). */
  warn(message: string): void;
}

/** The NBD error value for an image error: the protocol has a small fixed set. */
export function nbdErrorOf(e: unknown): number {
  if (e instanceof NbdError) return e.nbdError;
  const errno = e instanceof HostError ? e.errno : HostError.wrap(e).errno;
  switch (errno) {
    case 'EROFS':
    case 'EPERM':
    case 'EACCES':
      return NBD_EPERM;
    case 'ENOSPC':
    case 'EFBIG':
      return NBD_ENOSPC;
    case 'EINVAL':
      return NBD_EINVAL;
    case 'ENOMEM':
      return NBD_ENOMEM;
    default:
      return NBD_EIO;
  }
}

interface Request {
  flags: number;
  type: number;
  handle: Buffer;
  /** Past Number.MAX_SAFE_INTEGER it is simply out of range, kept as Infinity. */
  offset: number;
  length: number;
}

export class Transmission {
  private inFlight = 0;
  private inFlightBytes = 0;
  private stopping = false;
  /** Waiters for a change of in-flight state (the request loop, `stop()`). */
  private waiters: Array<() => void> = [];

  constructor(
    private readonly socket: Socket,
    private readonly reader: ByteReader,
    private readonly exp: NbdExport,
    private readonly events: TransmissionEvents,
  ) {
    socket.on('drain', () => this.poke());
    socket.on('close', () => this.poke());
  }

  /** Serves requests until the client disconnects (or breaks the protocol) or `stop()`. */
  async run(): Promise<void> {
    try {
      while (!this.stopping) {
        await this.waitFor(() => this.inFlight < MAX_IN_FLIGHT && this.inFlightBytes < IN_FLIGHT_BYTES &&
          this.socket.writableLength < IN_FLIGHT_BYTES);
        if (this.stopping) break;
        const h = await this.reader.read(REQUEST_HEADER_SIZE);
        if (h === null) break;
        const magic = h.readUInt32BE(0);
        if (magic !== NBD_REQUEST_MAGIC) {
          this.events.warn(`bad request magic 0x${magic.toString(16)}: closing the connection`);
          break;
        }
        const off = h.readBigUInt64BE(16);
        const req: Request = {
          flags: h.readUInt16BE(4),
          type: h.readUInt16BE(6),
          handle: Buffer.from(h.subarray(8, 16)),
          offset: off > BigInt(Number.MAX_SAFE_INTEGER) ? Infinity : Number(off),
          length: h.readUInt32BE(24),
        };
        if (req.type === NBD_CMD_DISC) break;
        if (req.type === NBD_CMD_WRITE) {
          if (req.length > MAX_PAYLOAD) {
            // The payload still has to be consumed to find the next request.
            if (!(await this.reader.skip(req.length))) break;
            this.reply(req.handle, NBD_EINVAL);
            continue;
          }
          const data = await this.reader.read(req.length);
          if (data === null) break; // truncated: nothing of it is written
          this.start(req, data);
        } else {
          this.start(req, undefined);
        }
      }
    } finally {
      // DISC, EOF or a violation: finish what was accepted, then close (soft or hard).
      this.stopping = true;
      await this.waitFor(() => this.inFlight === 0);
    }
  }

  /** Stops reading requests; resolves once the accepted ones are answered. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.poke();
    await this.waitFor(() => this.inFlight === 0);
  }

  private start(req: Request, data: Buffer | undefined): void {
    const bytes = req.type === NBD_CMD_READ || req.type === NBD_CMD_WRITE ? req.length : 0;
    this.inFlight++;
    this.inFlightBytes += bytes;
    this.serve(req, data)
      .then(
        (payload) => this.reply(req.handle, 0, payload),
        (e: unknown) => {
          const code = nbdErrorOf(e);
          if (code === NBD_EIO) this.events.warn(`${commandName(req.type)} at ${req.offset}+${req.length} failed: ${(e as Error).message}`);
          this.reply(req.handle, code);
        },
      )
      .finally(() => {
        this.inFlight--;
        this.inFlightBytes -= bytes;
        this.poke();
      });
  }

  /** Validates and runs one request; a rejection with an NbdError is its reply's error. */
  private async serve(req: Request, data: Buffer | undefined): Promise<Buffer | undefined> {
    const exp = this.exp;
    const allowed = NBD_CMD_FLAG_FUA | (req.type === NBD_CMD_WRITE_ZEROES ? NBD_CMD_FLAG_NO_HOLE : 0);
    if ((req.flags & ~allowed) !== 0) throw new NbdError(NBD_EINVAL);
    const writes = req.type === NBD_CMD_WRITE || req.type === NBD_CMD_TRIM || req.type === NBD_CMD_WRITE_ZEROES;
    if (req.type !== NBD_CMD_READ && !writes && req.type !== NBD_CMD_FLUSH) throw new NbdError(NBD_EINVAL); // unknown command
    if (writes && exp.readOnly) throw new NbdError(NBD_EPERM);
    if (req.type !== NBD_CMD_FLUSH && req.offset + req.length > exp.size()) {
      // The protocol's choice: ENOSPC for writing past the end, EINVAL otherwise (as qemu-nbd).
      throw new NbdError(req.type === NBD_CMD_WRITE || req.type === NBD_CMD_WRITE_ZEROES ? NBD_ENOSPC : NBD_EINVAL);
    }
    switch (req.type) {
      case NBD_CMD_READ:
        if (req.length > MAX_PAYLOAD) throw new NbdError(NBD_EINVAL);
        return req.length === 0 ? Buffer.alloc(0) : await exp.read(req.offset, req.length);
      case NBD_CMD_FLUSH:
        await exp.flush();
        return undefined;
      case NBD_CMD_WRITE:
        if (req.length > 0) await exp.write(req.offset, data!);
        break;
      case NBD_CMD_TRIM:
        if (req.length > 0) await exp.discard(req.offset, req.length);
        break;
      case NBD_CMD_WRITE_ZEROES:
        if (req.length > 0) {
          if (req.flags & NBD_CMD_FLAG_NO_HOLE) await writeZeroData(exp, req.offset, req.length);
          else await exp.writeZeroes(req.offset, req.length);
        }
        break;
    }
    // FUA: the reply waits until the data is on stable storage.
    if (req.flags & NBD_CMD_FLAG_FUA) await exp.flush();
    return undefined;
  }

  private reply(handle: Buffer, error: number, payload?: Buffer): void {
    if (this.socket.destroyed || !this.socket.writable) return;
    const h = Buffer.alloc(16);
    h.writeUInt32BE(NBD_SIMPLE_REPLY_MAGIC, 0);
    h.writeUInt32BE(error, 4);
    handle.copy(h, 8);
    this.socket.cork();
    this.socket.write(h);
    if (error === 0 && payload !== undefined && payload.length > 0) this.socket.write(payload);
    this.socket.uncork();
  }

  private async waitFor(cond: () => boolean): Promise<void> {
    while (!cond()) {
      if (this.socket.destroyed && this.inFlight === 0) return;
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  private poke(): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }
}

/** A refusal decided by the protocol layer (bad flags, range, read-only), with its NBD error. */
class NbdError extends Error {
  constructor(readonly nbdError: number) {
    super(`NBD error ${nbdError}`);
  }
}

/** NO_HOLE: the range must stay allocated, so zeros are written as data, not punched. */
async function writeZeroData(exp: NbdExport, offset: number, length: number): Promise<void> {
  zeroChunk ??= Buffer.alloc(ZERO_CHUNK);
  for (let at = 0; at < length; at += ZERO_CHUNK) {
    const n = Math.min(ZERO_CHUNK, length - at);
    await exp.write(offset + at, zeroChunk.subarray(0, n));
  }
}

function commandName(type: number): string {
  return ['READ', 'WRITE', 'DISC', 'FLUSH', 'TRIM', 'CACHE', 'WRITE_ZEROES'][type] ?? `command ${type}`;
}
