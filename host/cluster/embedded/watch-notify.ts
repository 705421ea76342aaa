/**
 * Watch/notify between processes over Unix sockets in Linux's abstract namespace.
 *
 * Each connection that watches something listens on `\0rbdm-<fsid>-<instanceId>` (no file
 * to clean up, no path-length limit, gone the moment the process dies). A notifier reads
 * the watcher rows from the database, connects to each endpoint, sends one `notify` frame
 * per watch and collects `ack` frames until its timeout. A refused connection means the
 * watcher's process is dead: its rows are pruned and it is neither acked nor timed out,
 * as the OSD drops a watch whose client session went away.
 *
 * Every socket here is unref'd or bounded by a timer, so an idle watch never keeps a
 * process alive, and a notify in flight does.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { err } from '../../errors.js';
import type { NotifyMessage, NotifyResult, WatchCallback } from '../store.js';
import { encodeFrame, FrameDecoder } from './wire.js';

export interface WatchTarget {
  instanceId: string;
  cookie: string;
  endpoint: string;
}

interface LocalWatch {
  cb: WatchCallback;
  onError: ((e: Error) => void) | undefined;
}

const PROBE_TIMEOUT_MS = 1000;
const sockPath = (endpoint: string) => `\0${endpoint}`;

export function endpointName(fsid: string, instanceId: string): string {
  return `rbdm-${fsid}-${instanceId}`;
}

/** The receiving side: one per cluster connection, listening while it has watches. */
export class WatchServer {
  private readonly watches = new Map<string, LocalWatch>();
  private server: Server | null = null;
  private starting: Promise<void> | null = null;
  private closing: Promise<void> | null = null;
  private readonly sockets = new Set<Socket>();

  constructor(readonly endpoint: string) {}

  get size(): number {
    return this.watches.size;
  }

  /** Listens before the caller registers a watch row, so no notifier finds a dead endpoint. */
  listen(): Promise<void> {
    this.starting ??= this.start();
    return this.starting;
  }

  private async start(): Promise<void> {
    // A close still in progress must give the address back before we take it again.
    await this.closing;
    await new Promise<void>((resolve, reject) => {
      const server = createServer((s) => this.serve(s));
      server.once('error', (e) => {
        this.starting = null;
        reject(err('ERR_INTERNAL', `cannot listen for notifies on @${this.endpoint}: ${e.message}`, { cause: e }));
      });
      server.listen({ path: sockPath(this.endpoint) }, () => {
        server.unref();
        // After startup, a server error loses every watch: tell their owners.
        server.on('error', (e) => this.failAll(e));
        this.server = server;
        resolve();
      });
    });
  }

  add(cookie: string, cb: WatchCallback, onError: ((e: Error) => void) | undefined): void {
    this.watches.set(cookie, { cb, onError });
  }

  remove(cookie: string): void {
    this.watches.delete(cookie);
  }

  /** The watch is gone on the cluster side (object or pool removed): report it once. */
  lost(cookie: string, e: Error): void {
    const w = this.watches.get(cookie);
    if (!w) return;
    this.watches.delete(cookie);
    w.onError?.(e);
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    this.starting = null;
    for (const s of this.sockets) s.destroy();
    if (!server) return;
    const closing = new Promise<void>((resolve) => server.close(() => resolve()));
    this.closing = closing;
    await closing;
    if (this.closing === closing) this.closing = null;
  }

  private failAll(e: Error): void {
    for (const cookie of [...this.watches.keys()]) {
      this.lost(cookie, err('ERR_INTERNAL', `watch ${cookie} lost: notify socket failed: ${e.message}`, { cause: e }));
    }
  }

  private serve(s: Socket): void {
    s.unref();
    this.sockets.add(s);
    s.on('close', () => this.sockets.delete(s));
    s.on('error', () => s.destroy());
    const dec = new FrameDecoder();
    s.on('data', (chunk: Buffer) => {
      let frames;
      try {
        frames = dec.push(chunk);
      } catch {
        s.destroy();
        return;
      }
      for (const { header: h, payload } of frames) {
        const cookie = String(h['cookie']);
        if (h['t'] === 'notify') void this.deliver(s, cookie, h, payload);
        else if (h['t'] === 'disconnect') this.lost(cookie, err('ERR_OBJECT_NOT_FOUND', `watch ${cookie} lost: ${String(h['reason'])}`));
      }
    });
  }

  private async deliver(s: Socket, cookie: string, h: Record<string, unknown>, payload: Buffer): Promise<void> {
    const w = this.watches.get(cookie);
    const notifyId = h['notifyId'];
    if (!w) {
      s.write(encodeFrame({ t: 'gone', notifyId, cookie }));
      return;
    }
    const msg: NotifyMessage = { notifyId: String(notifyId), cookie, notifierId: String(h['notifierId']), payload };
    let reply: Uint8Array | void = undefined;
    try {
      reply = await w.cb(msg);
    } catch {
      // librados acks even when the handler fails; the notifier gets an empty reply.
    }
    if (!s.destroyed) s.write(encodeFrame({ t: 'ack', notifyId, cookie }, reply ?? undefined));
  }
}

/** What `sendNotify` learned besides acks and timeouts: endpoints that turned out dead. */
export interface NotifyOutcome extends NotifyResult {
  dead: Set<string>;
}

/** Delivers one notify to `targets` and waits for their acks, at most `timeoutMs`. */
export function sendNotify(
  targets: readonly WatchTarget[],
  msg: { notifyId: string; notifierId: string; payload: Uint8Array },
  timeoutMs: number,
): Promise<NotifyOutcome> {
  const out: NotifyOutcome = { acks: [], timeouts: [], dead: new Set() };
  const byEndpoint = new Map<string, WatchTarget[]>();
  for (const t of targets) byEndpoint.set(t.endpoint, [...(byEndpoint.get(t.endpoint) ?? []), t]);
  if (byEndpoint.size === 0) return Promise.resolve(out);

  return new Promise((resolve) => {
    const open = new Set<Socket>();
    const pending = new Map<string, WatchTarget>(); // `${endpoint}\n${cookie}` → target
    const probes: Array<Promise<void>> = [];
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      for (const t of pending.values()) out.timeouts.push({ instanceId: t.instanceId, cookie: t.cookie });
      for (const s of open) s.destroy();
      void Promise.all(probes).then(() => resolve(out));
    };
    const timer = setTimeout(finish, timeoutMs);
    const endpointDone = () => {
      if (open.size === 0 && !finished) finish();
    };

    for (const [endpoint, list] of byEndpoint) {
      for (const t of list) pending.set(`${endpoint}\n${t.cookie}`, t);
      const s = createConnection({ path: sockPath(endpoint) });
      open.add(s);
      let connected = false;
      const drop = () => {
        // Closed without answering: the watcher went away; it is not waited for.
        for (const t of list) pending.delete(`${endpoint}\n${t.cookie}`);
      };
      s.on('connect', () => {
        connected = true;
        for (const t of list) s.write(encodeFrame({ t: 'notify', notifyId: msg.notifyId, notifierId: msg.notifierId, cookie: t.cookie }, msg.payload));
      });
      const dec = new FrameDecoder();
      s.on('data', (chunk: Buffer) => {
        let frames;
        try {
          frames = dec.push(chunk);
        } catch {
          s.destroy();
          return;
        }
        for (const { header: h, payload } of frames) {
          if (h['notifyId'] !== msg.notifyId) continue;
          const key = `${endpoint}\n${String(h['cookie'])}`;
          const t = pending.get(key);
          if (!t) continue;
          pending.delete(key);
          if (h['t'] === 'ack') out.acks.push({ instanceId: t.instanceId, cookie: t.cookie, reply: payload });
        }
        if (list.every((t) => !pending.has(`${endpoint}\n${t.cookie}`))) s.end();
      });
      s.on('error', (e: NodeJS.ErrnoException) => {
        if (!connected && (e.code === 'ECONNREFUSED' || e.code === 'ENOENT')) out.dead.add(endpoint);
      });
      s.on('close', () => {
        open.delete(s);
        if (finished) return;
        const unanswered = list.some((t) => pending.has(`${endpoint}\n${t.cookie}`));
        drop();
        if (connected && unanswered) {
          // It hung up mid-notify: find out whether its process is gone for good.
          probes.push(probe(endpoint).then((alive) => void (alive || out.dead.add(endpoint))));
        }
        endpointDone();
      });
    }
  });
}

/** True unless connecting to the endpoint is refused (its process is gone). */
export function probe(endpoint: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ path: sockPath(endpoint) });
    const done = (alive: boolean) => {
      clearTimeout(timer);
      s.destroy();
      resolve(alive);
    };
    // A stopped or busy process still accepts (the kernel queues it): alive.
    const timer = setTimeout(() => done(true), PROBE_TIMEOUT_MS);
    s.once('connect', () => done(true));
    s.once('error', (e: NodeJS.ErrnoException) => done(!(e.code === 'ECONNREFUSED' || e.code === 'ENOENT')));
  });
}

/** Best effort: tells watchers that their object is gone. */
export function sendDisconnects(targets: readonly WatchTarget[], reason: string): void {
  for (const t of targets) {
    const s = createConnection({ path: sockPath(t.endpoint) });
    const timer = setTimeout(() => s.destroy(), PROBE_TIMEOUT_MS);
    s.once('connect', () => s.end(encodeFrame({ t: 'disconnect', cookie: t.cookie, reason })));
    s.on('error', () => s.destroy());
    s.once('close', () => clearTimeout(timer));
  }
}
