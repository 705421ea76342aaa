/**
 * rbd's error wording. rbd prints librbd's reason, then its own line
 * `rbd: <what failed>: (<errno>) <strerror>`; rbdm keeps both in one message,
 * `<reason>; <what failed>: (<errno>) <strerror>`, so the CLI shows one line.
 */
import { ERRNO, HostError, STRERROR, err, type ErrnoName } from '../../host/index.js';

/** `(2) No such file or directory`. */
export function errnoText(e: ErrnoName): string {
  return `(${ERRNO[e]}) ${STRERROR[e]}`;
}

export function errnoOf(e: unknown): ErrnoName {
  return HostError.wrap(e).errno;
}

export function isErrno(e: unknown, name: ErrnoName): boolean {
  return errnoOf(e) === name;
}

export function poolNotFound(pool: string): HostError {
  return err('ERR_POOL_NOT_FOUND', `error opening pool '${pool}': ${errnoText('ENOENT')}`);
}

export function imageNotFound(name: string): HostError {
  return err('ERR_IMAGE_NOT_FOUND', `error opening image ${name}: ${errnoText('ENOENT')}`);
}

/**
 * Adds rbd's line for a failed step to an error, keeping its code and errno:
 * `withStep(e, 'bench failed')` → `<e.message>; bench failed: (30) Read-only file system`.
 */
export function withStep(e: unknown, step: string): HostError {
  const he = HostError.wrap(e);
  const line = `${step}: ${errnoText(he.errno)}`;
  if (he.message.endsWith(line)) return he;
  return new HostError(he.code, he.errno, `${he.message}; ${line}`, { cause: he });
}
