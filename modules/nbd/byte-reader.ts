/**
 * Exact-length reads from a socket, as promises: `read(n)` resolves with exactly `n` bytes,
 * or `null` when the peer closed first (a truncated message is then just "no more input").
 *
 * Backpressure: the socket is paused while more than `lookahead` bytes sit unread and no
 * read is waiting for them, so a client that pipelines faster than the image absorbs
 * cannot make the server buffer without bound.
 */
import type { Socket } from 'node:net';

export class ByteReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private ended = false;
  private waiter: { n: number; resolve: (b: Buffer | null) => void } | undefined;

  constructor(
    private readonly socket: Socket,
    private readonly lookahead = 1024 * 1024,
  ) {
    socket.on('data', (c: Buffer) => {
      this.chunks.push(c);
      this.buffered += c.length;
      this.pump();
      if (this.buffered >= this.lookahead && this.waiter === undefined) socket.pause();
    });
    const end = () => {
      this.ended = true;
      this.pump();
    };
    socket.on('end', end);
    socket.on('close', end);
    socket.on('error', end);
  }

  /** Exactly `n` bytes, or null when the stream ends first. One read at a time. */
  read(n: number): Promise<Buffer | null> {
    if (this.waiter) return Promise.reject(new Error('ByteReader: concurrent read'));
    if (this.buffered >= n) return Promise.resolve(this.take(n));
    if (this.ended) return Promise.resolve(null);
    return new Promise((resolve) => {
      this.waiter = { n, resolve };
      this.socket.resume();
    });
  }

  /** Discards `n` bytes without holding them; false when the stream ends first. */
  async skip(n: number): Promise<boolean> {
    let left = n;
    while (left > 0) {
      const step = Math.min(left, this.lookahead);
      if ((await this.read(step)) === null) return false;
      left -= step;
    }
    return true;
  }

  private pump(): void {
    const w = this.waiter;
    if (!w) return;
    if (this.buffered >= w.n) {
      this.waiter = undefined;
      w.resolve(this.take(w.n));
    } else if (this.ended) {
      this.waiter = undefined;
      w.resolve(null);
    }
  }

  private take(n: number): Buffer {
    let out: Buffer;
    const first = this.chunks[0];
    if (first !== undefined && first.length >= n) {
      // The common case (a header inside one chunk) needs no copy.
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let at = 0;
      while (at < n) {
        const c = this.chunks[0]!;
        const k = Math.min(c.length, n - at);
        c.copy(out, at, 0, k);
        at += k;
        if (k === c.length) this.chunks.shift();
        else this.chunks[0] = c.subarray(k);
      }
    }
    this.buffered -= n;
    if (this.buffered < this.lookahead && !this.ended) this.socket.resume();
    return out;
  }
}
