/**
 * Parsing of `nbd serve`'s words: the image spec (`[pool/]image`, the pool defaulting to
 * `rbd default pool`) and the listen address (`--bind HOST:PORT` or `--socket PATH`).
 */
import { err } from '../../host/index.js';
import type { ListenAddress } from './nbd-server.js';

/** The IANA port of NBD. */
export const DEFAULT_PORT = 10809;
export const DEFAULT_HOST = '127.0.0.1';

const NAME_RE = /^[^/@\s]+$/;

export function parseSpec(spec: string, defaultPool: string): { pool: string; image: string } {
  const parts = spec.split('/');
  if (parts.length > 2) throw err('ERR_INVALID_ARGUMENT', `invalid image spec '${spec}': expected [pool/]image`);
  const image = parts.length === 2 ? parts[1]! : parts[0]!;
  const pool = parts.length === 2 ? parts[0]! : defaultPool;
  if (image.includes('@')) throw err('ERR_INVALID_ARGUMENT', `invalid image spec '${spec}': snapshots are not supported`);
  if (!NAME_RE.test(image) || !NAME_RE.test(pool)) throw err('ERR_INVALID_ARGUMENT', `invalid image spec '${spec}'`);
  return { pool, image };
}

/** `127.0.0.1:10809`, `[::1]:0`, `localhost:9000`; the host is required (bind only where told). */
export function parseBind(bind: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^\s:[\]]+)):(\d{1,5})$/.exec(bind);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    throw err('ERR_INVALID_ARGUMENT', `invalid --bind '${bind}': expected HOST:PORT, e.g. 127.0.0.1:10809 or [::1]:10809 (port 0 picks a free one)`);
  }
  return { host: m[1] ?? m[2]!, port };
}

export function listenAddress(a: { bind?: string; socket?: string }): ListenAddress {
  if (a.bind !== undefined && a.socket !== undefined) {
    throw err('ERR_INVALID_ARGUMENT', 'give --bind or --socket, not both');
  }
  if (a.socket !== undefined) {
    if (a.socket === '') throw err('ERR_INVALID_ARGUMENT', 'invalid --socket: empty path');
    return { path: a.socket };
  }
  return a.bind !== undefined ? parseBind(a.bind) : { host: DEFAULT_HOST, port: DEFAULT_PORT };
}
