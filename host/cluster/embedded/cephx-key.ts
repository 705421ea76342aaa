import { randomBytes } from 'node:crypto';

/** CEPH_CRYPTO_AES, the only secret type cephx uses. */
const CRYPTO_AES = 1;
const SECRET_LEN = 16;

/**
 * A new cephx secret in keyring form: base64 of the encoded CryptoKey, i.e.
 * [u16 LE type=1][u32 LE secs][u32 LE nsecs][u16 LE len=16][16 random bytes]
 * (28 bytes, 40 characters starting "AQ"), the same format `ceph auth` prints.
 */
export function generateCephxKey(): string {
  const buf = Buffer.alloc(12 + SECRET_LEN);
  const now = Date.now();
  buf.writeUInt16LE(CRYPTO_AES, 0);
  buf.writeUInt32LE(Math.floor(now / 1000), 2);
  buf.writeUInt32LE((now % 1000) * 1_000_000, 6);
  buf.writeUInt16LE(SECRET_LEN, 10);
  randomBytes(SECRET_LEN).copy(buf, 12);
  return buf.toString('base64');
}

/** True when `key` decodes to a well-formed cephx secret (what a keyring may hold). */
export function isCephxKey(key: string): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(key)) return false;
  const buf = Buffer.from(key, 'base64');
  return buf.length === 12 + SECRET_LEN && buf.readUInt16LE(0) === CRYPTO_AES && buf.readUInt16LE(10) === SECRET_LEN;
}
