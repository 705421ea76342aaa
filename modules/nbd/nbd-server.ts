/**
 * The NBD server: a listening socket (TCP or Unix), and per connection the handshake,
 * option haggling and transmission. Connections are independent: one client's garbage
 * or disconnect ends only that client's session.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { unlinkSync } from 'node:fs';
import { errno } from '../../host/index.js';
import { ByteReader } from './byte-reader.js';
import { handshake } from './handshake.js';
import type { NbdExport } from './image-export.js';
import { negotiate, type ExportTable } from './option-negotiation.js';
import { Transmission } from './transmission.js';

export type ListenAddress = { host: string; port: number } | { path: string };

export interface NbdServerOptions {
  exports: NbdExport[];
  /** Diagnostics, one line each (the serve command puts them on stderr). */
  warn(message: string): void;
  /** A client that has not reached transmission by then is dropped (ms). */
  handshakeTimeoutMs?: number;
}

/** How long `close()` lets accepted requests finish before cutting connections. */
const CLOSE_GRACE_MS = 10_000;

interface Connection {
  socket: Socket;
  peer: string;
  transmission?: Transmission;
}

export class NbdServer {
  private readonly server: Server;
  private readonly conns = new Set<Connection>();
  private closing = false;
  private readonly table: ExportTable;

  constructor(private readonly opts: NbdServerOptions) {
    const exports = opts.exports;
    this.table = {
      // The empty name is the protocol's default export: the first one.
      find: (name) => (name === '' ? exports[0] : exports.find((e) => e.name === name)),
      list: () => exports,
      shuttingDown: () => this.closing,
    };
    this.server = createServer((s) => {
      this.accept(s).catch((e: unknown) => {
        opts.warn(`connection failed: ${(e as Error).message}`);
        s.destroy();
      });
    });
    // After listening, errors (EMFILE on accept) are reported, not fatal to the process.
    this.server.on('error', (e) => {
      if (this.server.listening) opts.warn(`server socket: ${e.message}`);
    });
  }

  /** Listens; resolves with the address as the ready line prints it. */
  async listen(addr: ListenAddress): Promise<string> {
    try {
      await this.tryListen(addr);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EADDRINUSE' || !('path' in addr) || (await isLive(addr.path))) {
        const where = 'path' in addr ? `unix:${addr.path}` : `${addr.host}:${addr.port}`;
        throw errno(code === 'EADDRINUSE' ? 'EBUSY' : code === 'EACCES' ? 'EACCES' : 'EINVAL', 'ERR_NBD_LISTEN',
          `cannot listen on ${where}: ${(e as Error).message}`);
      }
      // A socket file left by a server that died: nobody answers on it, so take it over.
      unlinkSync(addr.path);
      await this.tryListen(addr);
    }
    if ('path' in addr) return `unix:${addr.path}`;
    const a = this.server.address();
    const port = typeof a === 'object' && a !== null ? a.port : addr.port;
    return `${addr.host.includes(':') ? `[${addr.host}]` : addr.host}:${port}`;
  }

  /** Stops accepting, lets accepted requests finish (bounded), then closes every connection. */
  async close(): Promise<void> {
    this.closing = true;
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    await Promise.all([...this.conns].map(async (c) => {
      if (c.transmission) await withTimeout(c.transmission.stop(), CLOSE_GRACE_MS);
      c.socket.end();
      c.socket.destroy();
    }));
    await closed;
  }

  get connections(): number {
    return this.conns.size;
  }

  private tryListen(addr: ListenAddress): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (e: Error) => reject(e);
      this.server.once('error', onError);
      const done = () => {
        this.server.off('error', onError);
        resolve();
      };
      if ('path' in addr) this.server.listen(addr.path, done);
      else this.server.listen(addr.port, addr.host, done);
    });
  }

  private async accept(socket: Socket): Promise<void> {
    const peer = socket.remoteAddress ? `${socket.remoteAddress}:${socket.remotePort}` : 'unix client';
    const conn: Connection = { socket, peer };
    if (this.closing) {
      socket.destroy();
      return;
    }
    this.conns.add(conn);
    socket.on('error', () => undefined); // ECONNRESET etc. end the session like a close does
    socket.setNoDelay(true);
    const timer = setTimeout(() => {
      this.opts.warn(`client ${peer}: no export chosen within ${this.opts.handshakeTimeoutMs ?? 30_000} ms, closing`);
      socket.destroy();
    }, this.opts.handshakeTimeoutMs ?? 30_000);
    try {
      const reader = new ByteReader(socket);
      const hs = await handshake(socket, reader);
      if (!hs.ok) {
        this.opts.warn(`client ${peer}: ${hs.reason}, closing`);
        return;
      }
      const neg = await negotiate(socket, reader, hs.flags, this.table);
      if (neg.kind === 'closed') {
        if (neg.reason) this.opts.warn(`client ${peer}: ${neg.reason}, closing`);
        return;
      }
      clearTimeout(timer);
      conn.transmission = new Transmission(socket, reader, neg.export, {
        warn: (m) => this.opts.warn(`client ${peer}: ${m}`),
      });
      await conn.transmission.run();
    } finally {
      clearTimeout(timer);
      this.conns.delete(conn);
      // Let queued replies flush, then close; destroy() covers a peer that stopped reading.
      socket.end(() => socket.destroy());
      setTimeout(() => socket.destroy(), 1000).unref();
    }
  }
}

/** Whether something accepts connections on a Unix socket path. */
function isLive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code !== 'ECONNREFUSED' && e.code !== 'ENOENT'));
  });
}

function withTimeout(p: Promise<void>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    p.finally(() => {
      clearTimeout(t);
      resolve();
    }).catch(() => undefined);
  });
}
