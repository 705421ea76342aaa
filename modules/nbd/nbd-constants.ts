/**
 * Numbers of the NBD protocol (the NetworkBlockDevice project's `doc/proto.md`), and this
 * server's limits. Everything on the wire is big-endian.
 */

/** 'NBDMAGIC': first 8 bytes the server sends. */
export const NBD_MAGIC = 0x4e42444d41474943n;
/** 'IHAVEOPT': newstyle magic, and the prefix of every option the client sends. */
export const NBD_OPTS_MAGIC = 0x49484156454f5054n;
/** Prefix of every option reply. */
export const NBD_REP_MAGIC = 0x0003e889045565a9n;
export const NBD_REQUEST_MAGIC = 0x25609513;
export const NBD_SIMPLE_REPLY_MAGIC = 0x67446698;

/** Handshake flags (16 bits, server). */
export const NBD_FLAG_FIXED_NEWSTYLE = 1 << 0;
export const NBD_FLAG_NO_ZEROES = 1 << 1;
/** Client flags (32 bits); any other bit makes the server drop the connection. */
export const NBD_FLAG_C_FIXED_NEWSTYLE = 1 << 0;
export const NBD_FLAG_C_NO_ZEROES = 1 << 1;

/** Transmission flags (16 bits). */
export const NBD_FLAG_HAS_FLAGS = 1 << 0;
export const NBD_FLAG_READ_ONLY = 1 << 1;
export const NBD_FLAG_SEND_FLUSH = 1 << 2;
export const NBD_FLAG_SEND_FUA = 1 << 3;
export const NBD_FLAG_SEND_TRIM = 1 << 5;
export const NBD_FLAG_SEND_WRITE_ZEROES = 1 << 6;
export const NBD_FLAG_CAN_MULTI_CONN = 1 << 8;

/** Options. */
export const NBD_OPT_EXPORT_NAME = 1;
export const NBD_OPT_ABORT = 2;
export const NBD_OPT_LIST = 3;
export const NBD_OPT_STARTTLS = 5;
export const NBD_OPT_INFO = 6;
export const NBD_OPT_GO = 7;
export const NBD_OPT_STRUCTURED_REPLY = 8;

/** Option reply types; errors have bit 31 set. */
export const NBD_REP_ACK = 1;
export const NBD_REP_SERVER = 2;
export const NBD_REP_INFO = 3;
const REP_ERR = 0x80000000;
export const NBD_REP_ERR_UNSUP = REP_ERR + 1;
export const NBD_REP_ERR_POLICY = REP_ERR + 2;
export const NBD_REP_ERR_INVALID = REP_ERR + 3;
export const NBD_REP_ERR_UNKNOWN = REP_ERR + 6;
export const NBD_REP_ERR_SHUTDOWN = REP_ERR + 7;
export const NBD_REP_ERR_TOO_BIG = REP_ERR + 9;

/** Info types in NBD_REP_INFO (NBD_OPT_INFO / NBD_OPT_GO). */
export const NBD_INFO_EXPORT = 0;
export const NBD_INFO_NAME = 1;
export const NBD_INFO_DESCRIPTION = 2;
export const NBD_INFO_BLOCK_SIZE = 3;

/** Commands. */
export const NBD_CMD_READ = 0;
export const NBD_CMD_WRITE = 1;
export const NBD_CMD_DISC = 2;
export const NBD_CMD_FLUSH = 3;
export const NBD_CMD_TRIM = 4;
export const NBD_CMD_WRITE_ZEROES = 6;

/** Command flags. */
export const NBD_CMD_FLAG_FUA = 1 << 0;
export const NBD_CMD_FLAG_NO_HOLE = 1 << 1;

/** Error values of replies (the protocol's fixed set, Linux numbers). */
export const NBD_EPERM = 1;
export const NBD_EIO = 5;
export const NBD_ENOMEM = 12;
export const NBD_EINVAL = 22;
export const NBD_ENOSPC = 28;
export const NBD_EOVERFLOW = 75;
export const NBD_ESHUTDOWN = 108;

/** Size of a request header: magic, flags, type, handle, offset, length. */
export const REQUEST_HEADER_SIZE = 28;
/** Size of an option header after the magic: option, length. */
export const OPTION_HEADER_SIZE = 16;

/**
 * Largest READ/WRITE payload (qemu-nbd's 32 MiB). Advertised as the maximum block size;
 * longer reads get EINVAL, longer writes have their payload skipped and get EINVAL.
 */
export const MAX_PAYLOAD = 32 * 1024 * 1024;
/**
 * Largest option payload accepted. Export names are at most 4096 bytes, so a GO with a
 * name and a few info requests fits easily; anything longer is a client we drop rather
 * than buffer for.
 */
export const MAX_OPTION_LENGTH = 64 * 1024;
/** Block sizes advertised in NBD_INFO_BLOCK_SIZE: any byte alignment works (min 1). */
export const MIN_BLOCK_SIZE = 1;
export const PREFERRED_BLOCK_SIZE = 4096;

/** Option and command names for log lines. */
export const OPTION_NAMES: Readonly<Record<number, string>> = {
  [NBD_OPT_EXPORT_NAME]: 'EXPORT_NAME', [NBD_OPT_ABORT]: 'ABORT', [NBD_OPT_LIST]: 'LIST',
  [NBD_OPT_STARTTLS]: 'STARTTLS', [NBD_OPT_INFO]: 'INFO', [NBD_OPT_GO]: 'GO',
  [NBD_OPT_STRUCTURED_REPLY]: 'STRUCTURED_REPLY',
};
