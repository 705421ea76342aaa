/**
 * Ceph's admin-socket protocol, so a running `rbdm-mirror` can be asked `status`, `help`,
 * `rbd mirror status`... with `rbdm daemon`, or with `ceph --admin-daemon PATH CMD`.
 *
 * Wire format (Ceph's `AdminSocket`):
 * - Request: a JSON object `{"prefix":"status", ...}` or a plain command string, ended by
 *   `\0` or `\n`, or by the client half-closing. At most `MAX_REQUEST_BYTES`; a longer one is
 *   refused by closing the connection without a reply.
 * - Reply: a 4-byte big-endian length, then that many bytes: the handler's string as is, or
 *   its result as 4-space-indented JSON and a newline (`"format":"json"` gives compact JSON).
 *   Then the server closes.
 * - Errors: as Ceph since Octopus, the reply body starts with `ERROR: (N) strerror`. We add
 *   the HostError code in brackets, then the message on the next line:
 *   `ERROR: (22) Invalid argument [ERR_UNKNOWN_COMMAND]\nunknown command 'x'\n`.
 *   `adminCommand` turns that back into a HostError with the same code, errno and message,
 *   so handlers must not return text beginning with `ERROR: (`.
 *
 * The pre-Bobtail binary request (four bytes, the first a NUL) is not understood: it reads
 * as an empty command.
 *
 * Command lookup: a JSON request's prefix must be registered exactly (arguments travel as
 * other JSON fields). A plain string picks the longest registered prefix made of its leading
 * words, and the remaining words are passed as `args: string[]` (the pre-Nautilus rule).
 */
import { lstat, stat, unlink } from 'node:fs/promises';
import net from 'node:net';
import { dirname } from 'node:path';
import { ERRNO, HostError, STRERROR, err, errno, type ErrnoName } from '../errors.js';
import { describeSysError } from '../cluster/conf.js';
import { NULL_SINK, createLogger, type Logger } from './logger.js';

/** Largest request accepted, in bytes, not counting the terminator. */
export const MAX_REQUEST_BYTES = 64 * 1024;
/** What `{"prefix":"0"}` answers: Ceph's CEPH_ADMIN_SOCK_VERSION. */
export const ADMIN_SOCK_VERSION = '2';
/** Longest unix socket path Linux takes (sun_path is 108 bytes with the NUL). */
export const MAX_SOCKET_PATH_BYTES = 107;

/** Handles one command; returns a string (sent as is) or a value (sent as JSON). */
export type AdminCommandHandler = (cmd: Record<string, unknown>) => Promise<unknown> | unknown;

export interface AdminSocketOptions {
  /** A client that has not sent a full request after this long is disconnected (default 10 s). */
  requestTimeoutMs?: number;
}

/** Code of admin-socket transport failures (socket in use, daemon not running...). */
export const ERR_ADMIN_SOCKET = 'ERR_ADMIN_SOCKET';

function asokError(errnoName: ErrnoName, message: string): HostError {
  return errno(errnoName, ERR_ADMIN_SOCKET, message);
}

const PREFIX_RE = /^[^\s\0]+(?: [^\s\0]+)*$/;

interface Command {
  desc: string;
  handler: AdminCommandHandler;
}

/** The serving side: one per daemon, at e.g. `/var/run/rbdm/local.client.rbd-mirror.a.asok`. */
export class AdminSocketServer {
  private readonly commands = new Map<string, Command>();
  private readonly conns = new Set<net.Socket>();
  private readonly log: Logger;
  private readonly requestTimeoutMs: number;
  private server: net.Server | undefined;
  private starting = false;
  private socketId: { dev: number; ino: number } | undefined;

  constructor(readonly path: string, log?: Logger, opts: AdminSocketOptions = {}) {
    this.log = log ?? createLogger(NULL_SINK);
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 10_000;
    // `0` has no description, so `help` does not list it (as in Ceph).
    this.register('0', '', () => ADMIN_SOCK_VERSION);
    this.register('help', 'list available commands', () => this.help());
    this.register('get_command_descriptions', 'list available commands', () => this.descriptions());
  }

  /**
   * Adds a command. `prefix` is one or more words separated by single spaces; `desc` is what
   * `help` shows (empty hides it). Throws ERR_MODULE_PREFIX_CLASH (EEXIST) if the prefix is
   * taken. Commands may be added and removed while the socket serves.
   */
  register(prefix: string, desc: string, handler: AdminCommandHandler): void {
    if (!PREFIX_RE.test(prefix)) {
      throw err('ERR_INVALID_ARGUMENT', `invalid admin socket command prefix '${prefix}'`);
    }
    if (this.commands.has(prefix)) {
      throw err('ERR_MODULE_PREFIX_CLASH', `admin socket command '${prefix}' is already registered`);
    }
    this.commands.set(prefix, { desc, handler });
  }

  /** Removes a command; returns whether it was there. */
  unregister(prefix: string): boolean {
    return this.commands.delete(prefix);
  }

  /**
   * Binds and listens. A socket file left by a dead daemon (nobody accepts on it) is removed
   * first; a live one gives ERR_ADMIN_SOCKET (EEXIST) "... is in use", and a path that is not
   * a socket is never removed.
   */
  async start(): Promise<void> {
    if (this.server || this.starting) throw err('ERR_INVALID_ARGUMENT', `admin socket ${this.path} already started`);
    const bytes = Buffer.byteLength(this.path);
    if (bytes > MAX_SOCKET_PATH_BYTES) {
      throw err('ERR_INVALID_ARGUMENT', `admin socket path ${this.path} is too long (${bytes} bytes, at most ${MAX_SOCKET_PATH_BYTES})`);
    }
    this.starting = true;
    try {
      let srv: net.Server;
      try {
        srv = await this.listen();
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw await this.bindError(e);
        await this.removeStale();
        try {
          srv = await this.listen();
        } catch (e2) {
          // Another daemon bound it between our check and our retry.
          throw (e2 as NodeJS.ErrnoException).code === 'EADDRINUSE' ? this.inUse() : await this.bindError(e2);
        }
      }
      this.server = srv;
      const st = await stat(this.path).catch(() => undefined);
      this.socketId = st && { dev: st.dev, ino: st.ino };
      this.log.info(`admin socket listening on ${this.path}`);
    } finally {
      this.starting = false;
    }
  }

  /** Stops serving, drops open connections and removes the socket file if it is still ours. */
  async close(): Promise<void> {
    const srv = this.server;
    if (!srv) return;
    this.server = undefined;
    for (const c of this.conns) c.destroy();
    await new Promise<void>((res) => srv.close(() => res()));
    try {
      const st = await lstat(this.path);
      // Only the file we bound: a daemon started after us may own the path now.
      if (this.socketId && st.dev === this.socketId.dev && st.ino === this.socketId.ino) await unlink(this.path);
    } catch {
      // Already gone (libuv unlinks a pipe it bound when closing it).
    }
    this.socketId = undefined;
  }

  private listen(): Promise<net.Server> {
    return new Promise((res, rej) => {
      const srv = net.createServer({ allowHalfOpen: true }, (sock) => this.accept(sock));
      srv.once('error', rej);
      srv.listen(this.path, () => {
        srv.off('error', rej);
        srv.on('error', (e) => this.log.error(`admin socket ${this.path}: server error`, e));
        res(srv);
      });
    });
  }

  private inUse(): HostError {
    return asokError('EEXIST', `admin socket ${this.path} is in use by a running daemon`);
  }

  private async bindError(e: unknown): Promise<HostError> {
    // libuv reports a missing directory as EACCES; say what is really wrong.
    if ((e as NodeJS.ErrnoException).code === 'EACCES' && !(await stat(dirname(this.path)).catch(() => undefined))) {
      e = Object.assign(new Error('no such directory'), { code: 'ENOENT' });
    }
    const d = describeSysError(e);
    return asokError(d.errno ?? 'EIO', `can't bind admin socket ${this.path}: ${d.text}`);
  }

  private async removeStale(): Promise<void> {
    let st;
    try {
      st = await lstat(this.path);
    } catch {
      return; // vanished since the bind failed: nothing to remove
    }
    if (!st.isSocket()) {
      throw asokError('EEXIST', `admin socket path ${this.path} exists and is not a socket; not removing it`);
    }
    const probe = await probeSocket(this.path);
    if (probe === 'live') throw this.inUse();
    if (probe !== 'dead') throw asokError(probe.errno ?? 'EIO', `can't check admin socket ${this.path}: ${probe.text}`);
    this.log.info(`removing stale admin socket ${this.path}`);
    await unlink(this.path).catch(() => undefined);
  }

  private accept(sock: net.Socket): void {
    this.conns.add(sock);
    sock.on('close', () => this.conns.delete(sock));
    sock.on('error', (e) => this.log.debug(`admin socket ${this.path}: connection error`, e));
    // A handler may take its time; only a client that is slow to send, or that keeps the
    // connection open after its reply, is cut off.
    let phase: 'request' | 'running' | 'replied' = 'request';
    sock.setTimeout(this.requestTimeoutMs);
    sock.on('timeout', () => {
      if (phase === 'running') return;
      if (phase === 'request') {
        this.log.warn(`admin socket ${this.path}: no complete request in ${this.requestTimeoutMs} ms, disconnecting`);
      }
      sock.destroy();
    });
    const chunks: Buffer[] = [];
    let size = 0;
    const run = () => {
      phase = 'running';
      sock.off('data', onData);
      sock.off('end', onEnd);
      // Whatever else the client sends is ignored, as Ceph does.
      sock.resume();
      void this.respond(sock, Buffer.concat(chunks)).finally(() => {
        phase = 'replied';
      });
    };
    const onData = (chunk: Buffer) => {
      let cut = chunk.indexOf(0);
      const nl = chunk.indexOf(0x0a);
      if (nl >= 0 && (cut < 0 || nl < cut)) cut = nl;
      const part = cut < 0 ? chunk : chunk.subarray(0, cut);
      size += part.length;
      if (size > MAX_REQUEST_BYTES) {
        this.log.warn(`admin socket ${this.path}: request longer than ${MAX_REQUEST_BYTES} bytes, disconnecting`);
        sock.destroy();
        return;
      }
      chunks.push(part);
      if (cut >= 0) run();
    };
    const onEnd = () => {
      if (size > 0) {
        run();
      } else {
        sock.end(); // connected and left, as a liveness probe does: nothing to answer
      }
    };
    sock.on('data', onData);
    sock.on('end', onEnd);
  }

  private async respond(sock: net.Socket, request: Buffer): Promise<void> {
    let body: string;
    try {
      body = await this.execute(request);
    } catch (e) {
      const he = HostError.wrap(e);
      if (he.code === 'ERR_INTERNAL') this.log.error(`admin socket ${this.path}: command failed`, e);
      else this.log.debug(`admin socket ${this.path}: ${he.code}: ${he.message}`);
      body = `ERROR: (${ERRNO[he.errno]}) ${STRERROR[he.errno]} [${he.code}]\n${he.message}\n`;
    }
    if (sock.destroyed) return;
    const out = Buffer.from(body, 'utf8');
    const head = Buffer.alloc(4);
    head.writeUInt32BE(out.length);
    sock.end(Buffer.concat([head, out]));
  }

  private async execute(request: Buffer): Promise<string> {
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(request).trim();
    } catch {
      throw err('ERR_INVALID_ARGUMENT', 'request is not valid UTF-8');
    }
    if (text === '') throw err('ERR_INVALID_ARGUMENT', 'empty command');
    const [cmd, command] = text.startsWith('{') ? this.fromJson(text) : this.fromWords(text);
    const result = await command.handler(cmd);
    if (typeof result === 'string') return result;
    if (result === undefined) return '';
    const json = cmd['format'] === 'json' ? JSON.stringify(result) : JSON.stringify(result, null, 4);
    return json === undefined ? '' : `${json}\n`;
  }

  private fromJson(text: string): [Record<string, unknown>, Command] {
    let cmd: unknown;
    try {
      cmd = JSON.parse(text);
    } catch (e) {
      throw err('ERR_INVALID_ARGUMENT', `invalid json: ${(e as Error).message}`);
    }
    if (typeof cmd !== 'object' || cmd === null || Array.isArray(cmd)) {
      throw err('ERR_INVALID_ARGUMENT', 'invalid json: expected an object');
    }
    const prefix = (cmd as Record<string, unknown>)['prefix'];
    if (typeof prefix !== 'string' || prefix === '') {
      throw err('ERR_INVALID_ARGUMENT', 'invalid json: missing prefix');
    }
    const command = this.commands.get(prefix);
    if (!command) throw err('ERR_UNKNOWN_COMMAND', `unknown command '${prefix}'`);
    return [cmd as Record<string, unknown>, command];
  }

  private fromWords(text: string): [Record<string, unknown>, Command] {
    const words = text.split(/\s+/);
    for (let n = words.length; n > 0; n--) {
      const prefix = words.slice(0, n).join(' ');
      const command = this.commands.get(prefix);
      if (command) return [n < words.length ? { prefix, args: words.slice(n) } : { prefix }, command];
    }
    throw err('ERR_UNKNOWN_COMMAND', `unknown command '${words.join(' ')}'`);
  }

  private sortedCommands(): [string, Command][] {
    return [...this.commands].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** `{prefix: desc}` sorted by prefix, as `ceph daemon X help` prints. */
  private help(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [prefix, c] of this.sortedCommands()) if (c.desc !== '') out[prefix] = c.desc;
    return out;
  }

  /** What the `ceph` CLI asks first, to validate a command before sending it. */
  private descriptions(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    this.sortedCommands().forEach(([prefix, c], i) => {
      out[`cmd${String(i).padStart(3, '0')}`] = { sig: prefix.split(' '), help: c.desc, module: '', perm: '', flags: 0 };
    });
    return out;
  }
}

/** 'live' if something accepts connections on `path`, 'dead' if nothing does. */
function probeSocket(path: string): Promise<'live' | 'dead' | { errno: ErrnoName | undefined; text: string }> {
  return new Promise((res) => {
    const s = net.connect(path);
    s.once('connect', () => {
      s.destroy();
      res('live');
    });
    s.once('error', (e: NodeJS.ErrnoException) => {
      res(e.code === 'ECONNREFUSED' || e.code === 'ENOENT' ? 'dead' : describeSysError(e));
    });
  });
}

const ERROR_REPLY_RE = /^ERROR: \((\d+)\) [^\n]*?(?: \[([A-Z][A-Z0-9_]*)\])?\n/;

function errnoByNumber(n: number): ErrnoName {
  const hit = Object.entries(ERRNO).find(([, v]) => v === n);
  return (hit?.[0] as ErrnoName | undefined) ?? 'EIO';
}

/**
 * Sends one command to the admin socket at `path` and returns the reply text. An error reply
 * becomes the HostError the server raised. Other failures: ERR_ADMIN_SOCKET (ENOENT or
 * ECONNREFUSED: "is the daemon running?"), ERR_TIMEOUT after `timeoutMs`, and
 * ERR_INVALID_ARGUMENT for a command that cannot be sent (NUL or newline, too long).
 */
export function adminCommand(path: string, cmd: string | Record<string, unknown>, timeoutMs = 5000): Promise<string> {
  const text = typeof cmd === 'string' ? cmd : JSON.stringify(cmd);
  if (/[\0\n]/.test(text)) {
    return Promise.reject(err('ERR_INVALID_ARGUMENT', 'an admin socket command cannot hold NUL or newline'));
  }
  if (Buffer.byteLength(text) > MAX_REQUEST_BYTES) {
    return Promise.reject(err('ERR_INVALID_ARGUMENT', `admin socket command longer than ${MAX_REQUEST_BYTES} bytes`));
  }
  return new Promise((resolvePromise, rejectPromise) => {
    const sock = net.connect(path);
    let connected = false;
    let settled = false;
    let received = Buffer.alloc(0);
    const settle = (e: HostError | undefined, body?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      if (e) rejectPromise(e);
      else resolvePromise(body ?? '');
    };
    const timer = setTimeout(
      () => settle(err('ERR_TIMEOUT', `no reply from admin socket ${path} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const tryReply = (): boolean => {
      if (received.length < 4) return false;
      const len = received.readUInt32BE(0);
      if (received.length < 4 + len) return false;
      const body = received.subarray(4, 4 + len).toString('utf8');
      const m = ERROR_REPLY_RE.exec(body);
      if (!m) {
        settle(undefined, body);
      } else {
        const name = errnoByNumber(Number(m[1]));
        const message = body.slice(m[0].length).replace(/\n$/, '') || STRERROR[name];
        settle(new HostError(m[2] ?? ERR_ADMIN_SOCKET, name, message));
      }
      return true;
    };
    sock.on('connect', () => {
      connected = true;
      sock.write(`${text}\0`);
    });
    sock.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      tryReply();
    });
    sock.on('end', () => {
      if (!tryReply()) settle(asokError('EIO', `admin socket ${path} closed the connection without a complete reply`));
    });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      const d = describeSysError(e);
      const hint = e.code === 'ENOENT' || e.code === 'ECONNREFUSED' ? ': is the daemon running?' : '';
      const what = connected ? `admin socket ${path} failed` : `can't connect to admin socket ${path}`;
      settle(asokError(connected ? 'EIO' : (d.errno ?? 'EIO'), `${what}: ${d.text}${hint}`));
    });
  });
}
