/**
 * A raw NBD client for tests: every byte of the handshake and of each request is built
 * here, so tests can speak the protocol exactly — or break it on purpose.
 */
import { connect, type Socket } from 'node:net';

export const NBDMAGIC = 0x4e42444d41474943n;
export const IHAVEOPT = 0x49484156454f5054n;
export const REPLY_MAGIC = 0x0003e889045565a9n;
export const REQUEST_MAGIC = 0x25609513;
export const SIMPLE_REPLY_MAGIC = 0x67446698;

export const OPT = { EXPORT_NAME: 1, ABORT: 2, LIST: 3, STARTTLS: 5, INFO: 6, GO: 7, STRUCTURED_REPLY: 8, LIST_META_CONTEXT: 9 } as const;
export const REP = { ACK: 1, SERVER: 2, INFO: 3, ERR_UNSUP: 0x80000001, ERR_INVALID: 0x80000003, ERR_UNKNOWN: 0x80000006 } as const;
export const INFO = { EXPORT: 0, NAME: 1, DESCRIPTION: 2, BLOCK_SIZE: 3 } as const;
export const CMD = { READ: 0, WRITE: 1, DISC: 2, FLUSH: 3, TRIM: 4, CACHE: 5, WRITE_ZEROES: 6, BLOCK_STATUS: 7 } as const;
export const CMD_FLAG = { FUA: 1, NO_HOLE: 2, DF: 4 } as const;
export const FLAG = {
  HAS_FLAGS: 1, READ_ONLY: 2, SEND_FLUSH: 4, SEND_FUA: 8, SEND_TRIM: 32, SEND_WRITE_ZEROES: 64, CAN_MULTI_CONN: 256,
} as const;
export const ERR = { EPERM: 1, EIO: 5, EINVAL: 22, ENOSPC: 28 } as const;

export type Address = { host: string; port: number } | { path: string };

export interface OptionReply {
  option: number;
  type: number;
  data: Buffer;
}

export interface SimpleReply {
  error: number;
  handle: bigint;
  data: Buffer;
}

export class RawNbd {
  private buf: Buffer = Buffer.alloc(0);
  private ended = false;
  private waiter: (() => void) | undefined;
  private readonly pending = new Map<bigint, { readLength: number; resolve: (r: SimpleReply) => void; reject: (e: Error) => void }>();
  private pumping = false;
  private nextHandle = 1n;
  readonly closedP: Promise<void>;

  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
      this.waiter?.();
    });
    this.closedP = new Promise((resolve) => {
      const end = () => {
        this.ended = true;
        this.waiter?.();
        resolve();
      };
      socket.on('end', end);
      socket.on('close', end);
      socket.on('error', end);
    });
  }

  static connect(addr: Address): Promise<RawNbd> {
    return new Promise((resolve, reject) => {
      const s = 'path' in addr ? connect(addr.path) : connect(addr.port, addr.host);
      s.once('connect', () => resolve(new RawNbd(s)));
      s.once('error', reject);
    });
  }

  /** Exactly n bytes; rejects when the server closed first or nothing came in time. */
  async readExact(n: number, timeoutMs = 10_000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (this.buf.length < n) {
      if (this.ended) throw new Error(`connection closed with ${this.buf.length}/${n} bytes`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timeout waiting for ${n} bytes`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiter = () => {
          clearTimeout(t);
          r();
        };
      });
      this.waiter = undefined;
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return Buffer.from(out);
  }

  /** Resolves true when the server closes the connection within the time. */
  async closedWithin(ms = 5000): Promise<boolean> {
    return Promise.race([this.closedP.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);
  }

  write(b: Buffer): void {
    this.socket.write(b);
  }

  close(): void {
    this.socket.destroy();
  }

  // Handshake.

  async readGreeting(): Promise<{ magic: bigint; optsMagic: bigint; flags: number }> {
    const g = await this.readExact(18);
    return { magic: g.readBigUInt64BE(0), optsMagic: g.readBigUInt64BE(8), flags: g.readUInt16BE(16) };
  }

  sendClientFlags(flags: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(flags >>> 0, 0);
    this.write(b);
  }

  sendOption(option: number, data: Buffer = Buffer.alloc(0), length = data.length): void {
    const h = Buffer.alloc(16);
    h.writeBigUInt64BE(IHAVEOPT, 0);
    h.writeUInt32BE(option, 8);
    h.writeUInt32BE(length >>> 0, 12);
    this.write(Buffer.concat([h, data]));
  }

  async readOptionReply(): Promise<OptionReply> {
    const h = await this.readExact(20);
    if (h.readBigUInt64BE(0) !== REPLY_MAGIC) throw new Error(`bad option reply magic ${h.readBigUInt64BE(0).toString(16)}`);
    const len = h.readUInt32BE(16);
    return { option: h.readUInt32BE(8), type: h.readUInt32BE(12), data: len > 0 ? await this.readExact(len) : Buffer.alloc(0) };
  }

  /** Option replies up to and including the final one (ACK or an error). */
  async readOptionReplies(): Promise<OptionReply[]> {
    const out: OptionReply[] = [];
    for (;;) {
      const r = await this.readOptionReply();
      out.push(r);
      if (r.type === REP.ACK || r.type >= 0x80000000) return out;
    }
  }

  static goData(name: string, infos: number[] = []): Buffer {
    const n = Buffer.from(name, 'utf8');
    const b = Buffer.alloc(4 + n.length + 2 + 2 * infos.length);
    b.writeUInt32BE(n.length, 0);
    n.copy(b, 4);
    b.writeUInt16BE(infos.length, 4 + n.length);
    infos.forEach((t, i) => b.writeUInt16BE(t, 6 + n.length + 2 * i));
    return b;
  }

  /** Greeting, fixed-newstyle + no-zeroes flags, NBD_OPT_GO: ready for commands. */
  static async open(addr: Address, name: string): Promise<{ c: RawNbd; size: number; flags: number }> {
    const c = await RawNbd.connect(addr);
    await c.readGreeting();
    c.sendClientFlags(3);
    c.sendOption(OPT.GO, RawNbd.goData(name, [INFO.BLOCK_SIZE]));
    const replies = await c.readOptionReplies();
    const last = replies[replies.length - 1]!;
    if (last.type !== REP.ACK) throw new Error(`GO refused: ${last.type.toString(16)} ${last.data.toString()}`);
    const exp = replies.find((r) => r.type === REP.INFO && r.data.readUInt16BE(0) === INFO.EXPORT)!;
    return { c, size: Number(exp.data.readBigUInt64BE(2)), flags: exp.data.readUInt16BE(10) };
  }

  // Transmission.

  static request(type: number, offset: number | bigint, length: number, opts: { flags?: number; handle?: bigint; magic?: number } = {}): Buffer {
    const h = Buffer.alloc(28);
    h.writeUInt32BE(opts.magic ?? REQUEST_MAGIC, 0);
    h.writeUInt16BE(opts.flags ?? 0, 4);
    h.writeUInt16BE(type, 6);
    h.writeBigUInt64BE(opts.handle ?? 0n, 8);
    h.writeBigUInt64BE(BigInt(offset), 16);
    h.writeUInt32BE(length >>> 0, 24);
    return h;
  }

  /**
   * Sends a command and resolves with its reply (matched by handle, so several may be in
   * flight). `readLength` is how many data bytes a successful reply carries (READ only).
   */
  cmd(type: number, offset: number | bigint, length: number, opts: { flags?: number; data?: Buffer } = {}): Promise<SimpleReply> {
    const handle = this.nextHandle++;
    const p = new Promise<SimpleReply>((resolve, reject) => {
      this.pending.set(handle, { readLength: type === CMD.READ ? length : 0, resolve, reject });
    });
    const req = RawNbd.request(type, offset, length, { handle, ...(opts.flags !== undefined ? { flags: opts.flags } : {}) });
    this.write(opts.data ? Buffer.concat([req, opts.data]) : req);
    void this.pump();
    return p;
  }

  read(offset: number, length: number, flags = 0): Promise<SimpleReply> {
    return this.cmd(CMD.READ, offset, length, { flags });
  }

  writeAt(offset: number, data: Buffer, flags = 0): Promise<SimpleReply> {
    return this.cmd(CMD.WRITE, offset, data.length, { flags, data });
  }

  disconnect(): void {
    this.write(RawNbd.request(CMD.DISC, 0, 0, { handle: this.nextHandle++ }));
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.pending.size > 0) {
        const h = await this.readExact(16, 30_000);
        const magic = h.readUInt32BE(0);
        if (magic !== SIMPLE_REPLY_MAGIC) throw new Error(`bad reply magic 0x${magic.toString(16)}`);
        const handle = h.readBigUInt64BE(8);
        const p = this.pending.get(handle);
        if (!p) throw new Error(`reply for unknown handle ${handle}`);
        this.pending.delete(handle);
        const error = h.readUInt32BE(4);
        const data = error === 0 && p.readLength > 0 ? await this.readExact(p.readLength, 30_000) : Buffer.alloc(0);
        p.resolve({ error, handle, data });
      }
    } catch (e) {
      for (const p of this.pending.values()) p.reject(e as Error);
      this.pending.clear();
    } finally {
      this.pumping = false;
    }
  }
}
