/**
 * Just enough of Ceph's wire encoding (little-endian, ENCODE_START blocks) for cls_lock's
 * `get_info` and `lock` calls: the C API's rados_list_lockers omits the description and
 * expiry the Store's LockInfo needs, and rados_lock_exclusive takes no tag.
 */

export class Encoder {
  private parts: Buffer[] = [];
  u8(v: number): this {
    this.parts.push(Buffer.from([v & 0xff]));
    return this;
  }
  u32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v >>> 0);
    this.parts.push(b);
    return this;
  }
  str(s: string): this {
    const b = Buffer.from(s, 'utf8');
    this.u32(b.length);
    this.parts.push(b);
    return this;
  }
  /** utime_t: seconds, nanoseconds. */
  utime(ms: number): this {
    return this.u32(Math.floor(ms / 1000)).u32((ms % 1000) * 1_000_000);
  }
  /** ENCODE_START(v, compat) … ENCODE_FINISH around `fn`'s fields. */
  block(v: number, compat: number, fn: (e: Encoder) => void): this {
    const inner = new Encoder();
    fn(inner);
    const body = inner.done();
    return this.u8(v).u8(compat).u32(body.length).raw(body);
  }
  raw(b: Buffer): this {
    this.parts.push(b);
    return this;
  }
  done(): Buffer {
    return Buffer.concat(this.parts);
  }
}

export class Decoder {
  constructor(private readonly b: Buffer, public pos = 0) {}
  private need(n: number): void {
    if (this.pos + n > this.b.length) throw new Error(`truncated cls reply at ${this.pos} (+${n} of ${this.b.length})`);
  }
  u8(): number {
    this.need(1);
    return this.b[this.pos++]!;
  }
  u32(): number {
    this.need(4);
    const v = this.b.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  i64(): bigint {
    this.need(8);
    const v = this.b.readBigInt64LE(this.pos);
    this.pos += 8;
    return v;
  }
  str(): string {
    const n = this.u32();
    this.need(n);
    const s = this.b.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }
  /** DECODE_START … DECODE_FINISH: runs `fn`, then continues after the block (newer fields skipped). */
  block<T>(fn: (d: Decoder) => T): T {
    this.u8();
    this.u8();
    const len = this.u32();
    const end = this.pos + len;
    const r = fn(this);
    this.pos = end;
    return r;
  }
}

export interface ClsLocker {
  /** The locker's gid (entity_name_t num). */
  gid: string;
  cookie: string;
  /** ms since the epoch; 0 = no expiry. */
  expiresAt: number;
  description: string;
}

export interface ClsLockInfo {
  /** 1 exclusive, 2 shared, 3 exclusive-ephemeral, 0 none. */
  type: number;
  tag: string;
  lockers: ClsLocker[];
}

export function encodeGetInfo(name: string): Buffer {
  return new Encoder().block(1, 1, (e) => e.str(name)).done();
}

export function encodeLock(op: { name: string; exclusive: boolean; cookie: string; tag: string; description: string; durationMs: number; flags?: number }): Buffer {
  return new Encoder()
    .block(1, 1, (e) => {
      e.str(op.name).u8(op.exclusive ? 1 : 2).str(op.cookie).str(op.tag).str(op.description).utime(op.durationMs).u8(op.flags ?? 0);
    })
    .done();
}

/** entity_addr_t: new style (marker 1 + a block) or legacy (136 bytes). */
function skipAddr(d: Decoder): void {
  const marker = d.u8();
  if (marker === 1) {
    d.block(() => undefined);
  } else {
    d.skip(135);
  }
}

export function decodeGetInfoReply(b: Buffer): ClsLockInfo {
  const d = new Decoder(b);
  return d.block((d) => {
    const n = d.u32();
    const lockers: ClsLocker[] = [];
    for (let i = 0; i < n; i++) {
      const id = d.block((d) => {
        d.u8(); // entity type (client)
        const gid = d.i64().toString();
        const cookie = d.str();
        return { gid, cookie };
      });
      const info = d.block((d) => {
        const sec = d.u32();
        const nsec = d.u32();
        skipAddr(d);
        const description = d.str();
        return { expiresAt: sec === 0 && nsec === 0 ? 0 : sec * 1000 + Math.floor(nsec / 1_000_000), description };
      });
      lockers.push({ ...id, ...info });
    }
    const type = d.u8();
    const tag = d.str();
    return { type, tag, lockers };
  });
}
