/**
 * librados errors (`errno` < 0, `code` 'ENOENT'…) as the HostErrors the embedded backend
 * throws for the same conditions, so callers see one set of codes whatever the backend.
 */
import { ERRNO, err, HostError, type ErrnoName } from '../../errors.js';
import { objectNotFound, poolNotFound, tooLarge } from '../embedded/validate.js';

export interface RadosLikeError {
  code?: unknown;
  errno?: unknown;
  message?: unknown;
}

/** The errno name of an addon error ('ENOENT'), or undefined for anything else. */
export function errnoOf(e: unknown): string | undefined {
  const c = (e as RadosLikeError | null)?.code;
  return typeof c === 'string' && /^E[A-Z0-9]+$/.test(c) ? c : undefined;
}

function text(name: string): string {
  const n = ERRNO[name as ErrnoName];
  return n === undefined ? name : `(${n}) ${name}`;
}

export const shutDown = (): HostError =>
  new HostError('ERR_SHUTDOWN', 'EBLOCKLISTED', 'the connection is shut down: (108) Cannot send after transport endpoint shutdown');

/** Where an error happened, for its message and code. */
export interface ErrCtx {
  /** e.g. `error writing`. */
  what: string;
  pool?: string;
  oid?: string;
}

/** Maps an addon error; HostErrors pass through. */
export function mapRadosError(e: unknown, ctx: ErrCtx): HostError {
  if (e instanceof HostError) return e;
  const code = errnoOf(e);
  const where = ctx.oid !== undefined ? `${ctx.pool}/${ctx.oid}` : ctx.pool !== undefined ? ctx.pool : '';
  const msg = (tail: string) => `${ctx.what}${where ? ` ${where}` : ''}: ${tail}`;
  switch (code) {
    case 'ENOENT':
      return ctx.oid !== undefined && ctx.pool !== undefined ? objectNotFound(ctx.pool, ctx.oid) : err('ERR_OBJECT_NOT_FOUND', msg('(2) No such file or directory'), { cause: e });
    case 'EEXIST':
      return new HostError('ERR_OBJECT_EXISTS', 'EEXIST', msg('(17) File exists'), { cause: e });
    case 'ECANCELED':
      return err('ERR_GUARD_FAILED', msg('guard failed: (125) Operation canceled'), { cause: e });
    case 'EACCES':
    case 'EPERM':
      return err('ERR_PERMISSION', msg('(13) Permission denied'), { cause: e });
    case 'EFBIG':
      return tooLarge(msg('object size limit'));
    case 'ENODATA':
      return new HostError('ERR_XATTR_NOT_FOUND', 'ENODATA', msg('(61) No data available'), { cause: e });
    case 'EBUSY':
      return new HostError('ERR_LOCK_BUSY', 'EBUSY', msg('(16) Device or resource busy'), { cause: e });
    case 'ESHUTDOWN':
      return shutDown();
    case 'ETIMEDOUT':
      return err('ERR_TIMEOUT', msg('(110) Connection timed out'), { cause: e });
    case 'EINVAL':
      return err('ERR_INVALID_ARGUMENT', msg('(22) Invalid argument'), { cause: e });
    default:
      if (code !== undefined && code in ERRNO) {
        return new HostError(`ERR_SYS_${code}`, code as ErrnoName, msg(text(code)), { cause: e });
      }
      return HostError.wrap(e);
  }
}

export { poolNotFound };
