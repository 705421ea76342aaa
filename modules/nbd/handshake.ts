/**
 * The first exchange of a connection (fixed newstyle): the server's greeting and the
 * client's flags. Oldstyle is not offered (nbd-server dropped it in 3.10).
 */
import type { Socket } from 'node:net';
import type { ByteReader } from './byte-reader.js';
import {
  NBD_FLAG_C_FIXED_NEWSTYLE, NBD_FLAG_C_NO_ZEROES, NBD_FLAG_FIXED_NEWSTYLE, NBD_FLAG_NO_ZEROES, NBD_MAGIC, NBD_OPTS_MAGIC,
} from './nbd-constants.js';

export interface ClientFlags {
  fixedNewstyle: boolean;
  /** The 124 zero bytes after NBD_OPT_EXPORT_NAME's reply are left out. */
  noZeroes: boolean;
}

export type HandshakeOutcome = { ok: true; flags: ClientFlags } | { ok: false; reason: string };

export function greeting(): Buffer {
  const b = Buffer.alloc(18);
  b.writeBigUInt64BE(NBD_MAGIC, 0);
  b.writeBigUInt64BE(NBD_OPTS_MAGIC, 8);
  b.writeUInt16BE(NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES, 16);
  return b;
}

export async function handshake(socket: Socket, reader: ByteReader): Promise<HandshakeOutcome> {
  socket.write(greeting());
  const f = await reader.read(4);
  if (f === null) return { ok: false, reason: 'closed before sending its flags' };
  const flags = f.readUInt32BE(0);
  // The protocol: the server MUST drop a client that sets a flag it does not know.
  if ((flags & ~(NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES)) !== 0) {
    return { ok: false, reason: `unknown client flags 0x${flags.toString(16)}` };
  }
  return {
    ok: true,
    flags: { fixedNewstyle: (flags & NBD_FLAG_C_FIXED_NEWSTYLE) !== 0, noZeroes: (flags & NBD_FLAG_C_NO_ZEROES) !== 0 },
  };
}
