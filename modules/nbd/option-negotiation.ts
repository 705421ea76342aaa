/**
 * Option haggling (fixed newstyle): repeated options until the client picks an export
 * (NBD_OPT_GO or NBD_OPT_EXPORT_NAME), aborts, or breaks the protocol.
 *
 * Supported: EXPORT_NAME, ABORT, LIST, INFO, GO (NBD_INFO_EXPORT, NAME, DESCRIPTION,
 * BLOCK_SIZE). Everything else — STARTTLS, STRUCTURED_REPLY, meta contexts, unknown
 * numbers — gets NBD_REP_ERR_UNSUP, after which clients carry on with simple replies.
 */
import type { Socket } from 'node:net';
import type { ByteReader } from './byte-reader.js';
import type { ClientFlags } from './handshake.js';
import type { NbdExport } from './image-export.js';
import {
  MAX_OPTION_LENGTH, MAX_PAYLOAD, MIN_BLOCK_SIZE, NBD_FLAG_CAN_MULTI_CONN, NBD_FLAG_HAS_FLAGS, NBD_FLAG_READ_ONLY,
  NBD_FLAG_SEND_FLUSH, NBD_FLAG_SEND_FUA, NBD_FLAG_SEND_TRIM, NBD_FLAG_SEND_WRITE_ZEROES, NBD_INFO_BLOCK_SIZE,
  NBD_INFO_DESCRIPTION, NBD_INFO_EXPORT, NBD_INFO_NAME, NBD_OPT_ABORT, NBD_OPT_EXPORT_NAME, NBD_OPT_GO, NBD_OPT_INFO,
  NBD_OPT_LIST, NBD_OPTS_MAGIC, NBD_REP_ACK, NBD_REP_ERR_INVALID, NBD_REP_ERR_SHUTDOWN, NBD_REP_ERR_UNKNOWN,
  NBD_REP_ERR_UNSUP, NBD_REP_INFO, NBD_REP_MAGIC, NBD_REP_SERVER, OPTION_HEADER_SIZE, OPTION_NAMES, PREFERRED_BLOCK_SIZE,
} from './nbd-constants.js';

/** The exports a server offers, as negotiation sees them. */
export interface ExportTable {
  /** By exact name; the empty name is the default export. */
  find(name: string): NbdExport | undefined;
  list(): readonly NbdExport[];
  /** While the server stops, options other than ABORT are refused with ERR_SHUTDOWN. */
  shuttingDown(): boolean;
}

export type NegotiationOutcome =
  | { kind: 'transmission'; export: NbdExport }
  | { kind: 'closed'; reason?: string };

/**
 * Transmission flags: what this server does with the export. A read-only export
 * advertises no write-side commands (it still answers them, with EPERM).
 */
export function transmissionFlags(exp: NbdExport): number {
  const base = NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH | NBD_FLAG_CAN_MULTI_CONN;
  return exp.readOnly
    ? base | NBD_FLAG_READ_ONLY
    : base | NBD_FLAG_SEND_FUA | NBD_FLAG_SEND_TRIM | NBD_FLAG_SEND_WRITE_ZEROES;
}

function optionReply(option: number, type: number, data: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(20);
  h.writeBigUInt64BE(NBD_REP_MAGIC, 0);
  h.writeUInt32BE(option, 8);
  h.writeUInt32BE(type >>> 0, 12);
  h.writeUInt32BE(data.length, 16);
  return Buffer.concat([h, data]);
}

/** An error reply with a message for humans (the protocol allows a string payload). */
function errorReply(option: number, type: number, message: string): Buffer {
  return optionReply(option, type, Buffer.from(message, 'utf8'));
}

function infoExport(exp: NbdExport): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt16BE(NBD_INFO_EXPORT, 0);
  b.writeBigUInt64BE(BigInt(exp.size()), 2);
  b.writeUInt16BE(transmissionFlags(exp), 10);
  return b;
}

function infoString(type: number, text: string): Buffer {
  const t = Buffer.from(text, 'utf8');
  const b = Buffer.alloc(2 + t.length);
  b.writeUInt16BE(type, 0);
  t.copy(b, 2);
  return b;
}

function infoBlockSize(): Buffer {
  const b = Buffer.alloc(14);
  b.writeUInt16BE(NBD_INFO_BLOCK_SIZE, 0);
  b.writeUInt32BE(MIN_BLOCK_SIZE, 2);
  b.writeUInt32BE(PREFERRED_BLOCK_SIZE, 6);
  b.writeUInt32BE(MAX_PAYLOAD, 10);
  return b;
}

/** A string as the protocol defines one: UTF-8, no NUL. */
function decodeName(b: Buffer): string | undefined {
  if (b.includes(0)) return undefined;
  const s = b.toString('utf8');
  return Buffer.byteLength(s, 'utf8') === b.length ? s : undefined; // rejects invalid UTF-8
}

interface GoRequest {
  name: string;
  infos: number[];
}

/** NBD_OPT_INFO / NBD_OPT_GO data: u32 name length, name, u16 count, count × u16 info types. */
function parseGo(data: Buffer): GoRequest | undefined {
  if (data.length < 6) return undefined;
  const nameLen = data.readUInt32BE(0);
  if (nameLen > data.length - 6) return undefined;
  const name = decodeName(data.subarray(4, 4 + nameLen));
  if (name === undefined) return undefined;
  const count = data.readUInt16BE(4 + nameLen);
  if (data.length !== 6 + nameLen + 2 * count) return undefined;
  const infos: number[] = [];
  for (let i = 0; i < count; i++) infos.push(data.readUInt16BE(6 + nameLen + 2 * i));
  return { name, infos };
}

export async function negotiate(socket: Socket, reader: ByteReader, flags: ClientFlags, table: ExportTable): Promise<NegotiationOutcome> {
  for (;;) {
    const head = await reader.read(OPTION_HEADER_SIZE);
    if (head === null) return { kind: 'closed' };
    if (head.readBigUInt64BE(0) !== NBD_OPTS_MAGIC) return { kind: 'closed', reason: 'bad option magic' };
    const option = head.readUInt32BE(8);
    const length = head.readUInt32BE(12);
    // Names are at most 4096 bytes; a longer option is a client we will not buffer for.
    if (length > MAX_OPTION_LENGTH) return { kind: 'closed', reason: `option ${option} with ${length} bytes of data` };
    const data = await reader.read(length);
    if (data === null) return { kind: 'closed', reason: 'truncated option' };
    const name = OPTION_NAMES[option] ?? String(option);

    if (option === NBD_OPT_ABORT) {
      socket.write(optionReply(option, NBD_REP_ACK));
      return { kind: 'closed' };
    }
    if (table.shuttingDown()) {
      // EXPORT_NAME cannot be answered with an error: the session just ends.
      if (option === NBD_OPT_EXPORT_NAME) return { kind: 'closed', reason: 'server shutting down' };
      socket.write(errorReply(option, NBD_REP_ERR_SHUTDOWN, 'server is shutting down'));
      continue;
    }
    switch (option) {
      case NBD_OPT_EXPORT_NAME: {
        const wanted = decodeName(data);
        const exp = wanted === undefined ? undefined : table.find(wanted);
        // No error reply exists for EXPORT_NAME: an unknown export ends the session.
        if (!exp) return { kind: 'closed', reason: `unknown export '${data.toString('utf8')}'` };
        const r = Buffer.alloc(flags.noZeroes ? 10 : 134);
        r.writeBigUInt64BE(BigInt(exp.size()), 0);
        r.writeUInt16BE(transmissionFlags(exp), 8);
        socket.write(r);
        return { kind: 'transmission', export: exp };
      }
      case NBD_OPT_LIST: {
        if (length !== 0) {
          socket.write(errorReply(option, NBD_REP_ERR_INVALID, 'NBD_OPT_LIST takes no data'));
          break;
        }
        for (const exp of table.list()) {
          const n = Buffer.from(exp.name, 'utf8');
          const d = Buffer.from(exp.description, 'utf8');
          const b = Buffer.alloc(4 + n.length + d.length);
          b.writeUInt32BE(n.length, 0);
          n.copy(b, 4);
          d.copy(b, 4 + n.length);
          socket.write(optionReply(option, NBD_REP_SERVER, b));
        }
        socket.write(optionReply(option, NBD_REP_ACK));
        break;
      }
      case NBD_OPT_INFO:
      case NBD_OPT_GO: {
        const req = parseGo(data);
        if (!req) {
          socket.write(errorReply(option, NBD_REP_ERR_INVALID, `malformed NBD_OPT_${name}`));
          break;
        }
        const exp = table.find(req.name);
        if (!exp) {
          socket.write(errorReply(option, NBD_REP_ERR_UNKNOWN, `no export named '${req.name}'`));
          break;
        }
        const replies = [optionReply(option, NBD_REP_INFO, infoExport(exp))];
        if (req.infos.includes(NBD_INFO_NAME)) replies.push(optionReply(option, NBD_REP_INFO, infoString(NBD_INFO_NAME, exp.name)));
        if (req.infos.includes(NBD_INFO_DESCRIPTION)) {
          replies.push(optionReply(option, NBD_REP_INFO, infoString(NBD_INFO_DESCRIPTION, exp.description)));
        }
        // Sent whether asked or not (allowed): clients then know the 32 MiB payload limit.
        replies.push(optionReply(option, NBD_REP_INFO, infoBlockSize()));
        replies.push(optionReply(option, NBD_REP_ACK));
        socket.write(Buffer.concat(replies));
        if (option === NBD_OPT_GO) return { kind: 'transmission', export: exp };
        break;
      }
      default:
        socket.write(errorReply(option, NBD_REP_ERR_UNSUP, `option ${name} is not supported`));
    }
  }
}
