/**
 * The one error type of rbdm, and its catalog.
 *
 * Errors are values with a stable code (`ERR_*`, public API) and an errno name, the way rbd
 * reports `(2) No such file or directory`. The CLI maps the errno to its exit code in one
 * place (`host/cli/handle-error.ts`). Anything thrown that is not a HostError becomes
 * ERR_INTERNAL: its stack goes to the log, never to the user.
 */

/** errno names we use, with Linux numbers: the CLI's exit code is the number, as rbd's is. */
export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  EIO: 5,
  E2BIG: 7,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EBUSY: 16,
  EEXIST: 17,
  EXDEV: 18,
  ENOTDIR: 20,
  EINVAL: 22,
  EFBIG: 27,
  ENOSPC: 28,
  EROFS: 30,
  ERANGE: 34,
  ENOSYS: 38,
  ENOTEMPTY: 39,
  ENODATA: 61,
  ENOTSUP: 95,
  ECONNREFUSED: 111,
  ETIMEDOUT: 110,
  ECANCELED: 125,
  EBLOCKLISTED: 108,
} as const;

export type ErrnoName = keyof typeof ERRNO;

/** Human text for an errno, as strerror(3) prints it (rbd shows `(22) Invalid argument`). */
export const STRERROR: Record<ErrnoName, string> = {
  EPERM: 'Operation not permitted',
  ENOENT: 'No such file or directory',
  EIO: 'Input/output error',
  E2BIG: 'Argument list too long',
  EAGAIN: 'Resource temporarily unavailable',
  ENOMEM: 'Cannot allocate memory',
  EACCES: 'Permission denied',
  EBUSY: 'Device or resource busy',
  EEXIST: 'File exists',
  EXDEV: 'Invalid cross-device link',
  ENOTDIR: 'Not a directory',
  EINVAL: 'Invalid argument',
  EFBIG: 'File too large',
  ENOSPC: 'No space left on device',
  EROFS: 'Read-only file system',
  ERANGE: 'Numerical result out of range',
  ENOSYS: 'Function not implemented',
  ENOTEMPTY: 'Directory not empty',
  ENODATA: 'No data available',
  ENOTSUP: 'Operation not supported',
  ECONNREFUSED: 'Connection refused',
  ETIMEDOUT: 'Connection timed out',
  ECANCELED: 'Operation canceled',
  EBLOCKLISTED: 'Cannot send after transport endpoint shutdown',
};

/** Plain-data form of an error: survives structured clone, JSON and the admin socket. */
export interface ErrorValue {
  code: string;
  errno: ErrnoName;
  message: string;
}

export class HostError extends Error implements ErrorValue {
  readonly code: string;
  readonly errno: ErrnoName;

  constructor(code: string, errno: ErrnoName, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HostError';
    this.code = code;
    this.errno = errno;
  }

  /** The errno number, which is also the CLI's exit code. */
  get errnoNumber(): number {
    return ERRNO[this.errno];
  }

  toValue(): ErrorValue {
    return { code: this.code, errno: this.errno, message: this.message };
  }

  static fromValue(v: ErrorValue): HostError {
    return new HostError(v.code, v.errno, v.message);
  }

  /** Keeps a HostError; lifts an errno from system errors; anything else is ERR_INTERNAL. */
  static wrap(e: unknown): HostError {
    if (e instanceof HostError) return e;
    if (isErrorValue(e)) return HostError.fromValue(e);
    const sys = e as NodeJS.ErrnoException | undefined;
    if (sys && typeof sys.code === 'string' && sys.code in ERRNO) {
      return new HostError(`ERR_SYS_${sys.code}`, sys.code as ErrnoName, sys.message, { cause: e });
    }
    const msg = e instanceof Error ? e.message : String(e);
    return new HostError('ERR_INTERNAL', 'EIO', `internal error: ${msg}`, { cause: e });
  }
}

export function isErrorValue(v: unknown): v is ErrorValue {
  return (
    typeof v === 'object' && v !== null &&
    typeof (v as ErrorValue).code === 'string' &&
    typeof (v as ErrorValue).errno === 'string' &&
    (v as ErrorValue).errno in ERRNO &&
    typeof (v as ErrorValue).message === 'string'
  );
}

interface CatalogEntry {
  errno: ErrnoName;
  /** One-line fix shown in docs; the message itself is built by the factory. */
  fix: string;
}

/**
 * The catalog: every code rbdm raises, with its errno and a one-line fix. Factories below
 * build the errors; `docs/errors.md` can be generated from this table.
 */
export const CATALOG = {
  ERR_INTERNAL: { errno: 'EIO', fix: 'A bug: see the log for the stack trace and report it.' },
  ERR_INVALID_ARGUMENT: { errno: 'EINVAL', fix: 'Check the command with --help.' },
  ERR_UNKNOWN_COMMAND: { errno: 'EINVAL', fix: 'Run rbdm --help for the list of commands.' },
  ERR_POOL_NOT_FOUND: { errno: 'ENOENT', fix: 'Create the pool first: rbdm pool create NAME.' },
  ERR_POOL_EXISTS: { errno: 'EEXIST', fix: 'Pick another name, or use the existing pool.' },
  ERR_POOL_NOT_EMPTY: { errno: 'ENOTEMPTY', fix: 'Remove the images in the pool first.' },
  ERR_OBJECT_NOT_FOUND: { errno: 'ENOENT', fix: 'Check the object name.' },
  ERR_OBJECT_EXISTS: { errno: 'EEXIST', fix: 'The object already exists.' },
  ERR_GUARD_FAILED: { errno: 'ECANCELED', fix: 'Another client changed the object: re-read and retry.' },
  ERR_IMAGE_NOT_FOUND: { errno: 'ENOENT', fix: 'Check the pool and image name: rbdm ls POOL.' },
  ERR_IMAGE_EXISTS: { errno: 'EEXIST', fix: 'Pick another image name.' },
  ERR_IMAGE_BUSY: { errno: 'EBUSY', fix: 'Another client holds the exclusive lock; stop it or wait.' },
  ERR_IMAGE_READ_ONLY: { errno: 'EROFS', fix: 'The image is non-primary or opened read-only.' },
  ERR_FEATURE: { errno: 'EINVAL', fix: 'See rbdm feature enable --help for feature names and dependencies.' },
  ERR_PERMISSION: { errno: 'EACCES', fix: 'Grant the client caps with rbdm auth caps.' },
  ERR_AUTH: { errno: 'EACCES', fix: 'Check --id/--name and the keyring beside the conf.' },
  ERR_ENTITY_NOT_FOUND: { errno: 'ENOENT', fix: 'List entities with rbdm auth ls.' },
  ERR_CONF: { errno: 'ENOENT', fix: 'Create the cluster (rbdm cluster create) or pass --conf.' },
  ERR_CLUSTER_EXISTS: { errno: 'EEXIST', fix: 'The cluster already has a conf; remove it first.' },
  ERR_BACKEND_UNAVAILABLE: { errno: 'ENOSYS', fix: 'Install librados and rebuild ceph-napi, or use backend = embedded.' },
  ERR_MODULE_MANIFEST: { errno: 'EINVAL', fix: 'Fix the module manifest: see docs/modules.md.' },
  ERR_MODULE_API_MISMATCH: { errno: 'EINVAL', fix: 'Install a module version built for this host API.' },
  ERR_MODULE_DEPENDENCY: { errno: 'ENOENT', fix: 'Enable or install the module this one depends on.' },
  ERR_MODULE_PREFIX_CLASH: { errno: 'EEXIST', fix: 'Two modules declare the same command; disable one.' },
  ERR_MODULE_NOT_FOUND: { errno: 'ENOENT', fix: 'Run rbdm mgr module ls for the known modules.' },
  ERR_MODULE_ALWAYS_ON: { errno: 'EINVAL', fix: 'This module is always on and cannot be disabled.' },
  ERR_SERVICE_NOT_FOUND: { errno: 'ENOENT', fix: 'Declare the providing module in dependencies.' },
  ERR_OPTION_UNKNOWN: { errno: 'ENOENT', fix: 'List options with rbdm config show.' },
  ERR_HOOK_TIMEOUT: { errno: 'ETIMEDOUT', fix: 'A module hook did not finish in time; see the log.' },
  ERR_TIMEOUT: { errno: 'ETIMEDOUT', fix: 'The peer did not answer in time.' },
  ERR_ADMIN_SOCKET: { errno: 'ECONNREFUSED', fix: 'Is the daemon running? Check the admin socket path (errno varies).' },
  ERR_NOT_SUPPORTED: { errno: 'ENOTSUP', fix: 'This operation is not supported here.' },
} as const satisfies Record<string, CatalogEntry>;

export type ErrorCode = keyof typeof CATALOG;

/** Builds a catalog error: `err('ERR_POOL_NOT_FOUND', "error opening pool 'x'")`. */
export function err(code: ErrorCode, message: string, options?: { cause?: unknown }): HostError {
  return new HostError(code, CATALOG[code].errno, message, options);
}

/** Builds an error with an explicit errno, for modules' own codes (`ERR_<MODULE>_*`). */
export function errno(errnoName: ErrnoName, code: string, message: string): HostError {
  return new HostError(code, errnoName, message);
}
