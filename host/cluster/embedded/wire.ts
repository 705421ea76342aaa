/**
 * Frames on the watch/notify sockets: [u32 BE frame length][u32 BE header length]
 * [JSON header][payload bytes]. The payload travels raw so notify payloads and replies
 * need no base64.
 */

/** Larger than any notify payload rbdm sends; a bigger length means a corrupt stream. */
const MAX_FRAME = 128 * 1024 * 1024;
const EMPTY = Buffer.alloc(0);

export interface Frame {
  header: Record<string, unknown>;
  payload: Buffer;
}

export function encodeFrame(header: Record<string, unknown>, payload: Uint8Array = EMPTY): Buffer {
  const h = Buffer.from(JSON.stringify(header));
  const out = Buffer.alloc(8 + h.length + payload.length);
  out.writeUInt32BE(4 + h.length + payload.length, 0);
  out.writeUInt32BE(h.length, 4);
  h.copy(out, 8);
  out.set(payload, 8 + h.length);
  return out;
}

/** Splits a byte stream into frames; throws on a malformed stream (the caller drops it). */
export class FrameDecoder {
  private buf: Buffer = EMPTY;

  push(chunk: Buffer): Frame[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const frames: Frame[] = [];
    while (this.buf.length >= 4) {
      const len = this.buf.readUInt32BE(0);
      if (len < 4 || len > MAX_FRAME) throw new Error(`bad frame length ${len}`);
      if (this.buf.length < 4 + len) break;
      const hlen = this.buf.readUInt32BE(4);
      if (hlen > len - 4) throw new Error(`bad header length ${hlen}`);
      const header = JSON.parse(this.buf.subarray(8, 8 + hlen).toString('utf8')) as unknown;
      if (typeof header !== 'object' || header === null) throw new Error('frame header is not an object');
      // Copy the payload out so the (possibly large) receive buffer can be freed.
      frames.push({ header: header as Record<string, unknown>, payload: Buffer.from(this.buf.subarray(8 + hlen, 4 + len)) });
      this.buf = this.buf.subarray(4 + len);
    }
    return frames;
  }
}
