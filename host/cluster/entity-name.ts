/**
 * Ceph entity names (`client.admin`, `client.rbd-mirror.a`, `mgr.x`): who a process
 * authenticates as. The name picks the conf section and the keyring file, so it must be safe
 * to put in a path and in a `[section]` header.
 */
import { err } from '../errors.js';

/** Entity types Ceph knows; rbdm clients are `client.*`, the others appear in caps and conf. */
export const ENTITY_TYPES = ['client', 'mon', 'osd', 'mgr', 'mds'] as const;
export type EntityType = (typeof ENTITY_TYPES)[number];

export interface EntityName {
  type: EntityType;
  /** Everything after the first dot: `rbd-mirror.a` in `client.rbd-mirror.a`. */
  id: string;
  /** `type.id`. */
  name: string;
}

// The id ends up in `<cluster>.<name>.keyring`: no slashes, no spaces, no brackets, and it
// must not start with a dot or dash (`client..x`, `client.-x` are typos, not names).
const ID_RE = /^[A-Za-z0-9_][A-Za-z0-9_.:@+-]*$/;

function invalid(s: string, why: string): Error {
  return err('ERR_INVALID_ARGUMENT', `invalid entity name '${s}': ${why}`);
}

/** Parses `TYPE.ID`; throws ERR_INVALID_ARGUMENT (EINVAL) "invalid entity name ..." otherwise. */
export function parseEntityName(s: string): EntityName {
  const dot = s.indexOf('.');
  if (dot < 0) throw invalid(s, `expected TYPE.ID with TYPE one of ${ENTITY_TYPES.join(', ')}`);
  const type = s.slice(0, dot);
  const id = s.slice(dot + 1);
  if (!(ENTITY_TYPES as readonly string[]).includes(type)) {
    throw invalid(s, `unknown type '${type}' (expected one of ${ENTITY_TYPES.join(', ')})`);
  }
  if (id === '') throw invalid(s, 'empty id');
  if (!ID_RE.test(id)) {
    throw invalid(s, 'the id may hold letters, digits and _ . : @ + - and must not start with . or -');
  }
  return { type: type as EntityType, id, name: s };
}

/**
 * The entity from `--name` / `--id`, as the ceph tools pick it: `--name` wins, `--id X`
 * means `client.X`, and the default is `client.admin`.
 */
export function entityFromArgs(args: { id?: string | undefined; name?: string | undefined }): EntityName {
  if (args.name !== undefined) return parseEntityName(args.name);
  if (args.id !== undefined) {
    if (args.id === '') throw invalid('client.', 'empty --id');
    return parseEntityName(`client.${args.id}`);
  }
  return parseEntityName('client.admin');
}
