/**
 * Ceph cap strings (`mon 'profile rbd'`, `osd 'allow rw pool=a'`): parsing and the checks a
 * backend runs for every operation.
 *
 * The grammar is the subset rbdm hands out:
 * - mon: `allow *`, `allow r|rw|rwx`, `profile rbd`, `profile rbd-mirror`,
 *   `profile rbd-mirror-peer`;
 * - osd: `allow *`, `allow r|rw|rwx [pool=NAME]`, `profile rbd [pool=NAME]`,
 *   `profile rbd-read-only [pool=NAME]`;
 * - mgr: the osd forms (rbdm has no mgr daemon to enforce them, but they are stored and
 *   checked for syntax, so `auth get-or-create` takes what `ceph auth` takes).
 * Grants are comma-separated and add up, as in Ceph.
 *
 * What an operation needs follows the OSD's op flags (src/include/rados.h):
 * - object reads, `stat`, `listObjects`, `listWatchers`, `notify`: osd `r`;
 * - object writes: osd `w` (plus `r` when the compound op carries guards, which are reads);
 * - `watch`: osd `r` and `w` (CEPH_OSD_OP_WATCH is a WR op with the read bit forced);
 * - cls_lock calls: class-read (`getLockInfo`) or class-write (lock, unlock, break), which
 *   `x`, `profile rbd` (and class-read only, `profile rbd-read-only`) grant;
 * - `listPools`, `lookupPool`, opening an ioctx: mon `r`; pool create/delete: mon `w`;
 *   the auth database: mon `allow *` or `allow rwx`.
 */
import { err } from '../errors.js';

/** One permission an operation may need on a pool. */
export type OsdPerm = 'r' | 'w' | 'class-read' | 'class-write';
export type MonPerm = 'r' | 'w' | 'x';

interface OsdGrant {
  /** null: every pool. */
  pool: string | null;
  perms: Set<OsdPerm>;
}

/** Caps of one entity, parsed once. */
export interface ParsedCaps {
  readonly mon: ReadonlySet<MonPerm>;
  readonly osd: readonly OsdGrant[];
}

const SERVICES = new Set(['mon', 'osd', 'mgr', 'mds']);
const ALL_OSD: OsdPerm[] = ['r', 'w', 'class-read', 'class-write'];

function bad(service: string, cap: string, why: string): never {
  throw err('ERR_INVALID_ARGUMENT', `invalid ${service} cap '${cap}': ${why}: (22) Invalid argument`);
}

/** `rwx` letters → mon perms; null when the word is not such a set. */
function letters(word: string): string[] | null {
  if (word === '' || !/^r?w?x?$/.test(word)) return null;
  return word.split('');
}

/** Grants split on commas, words on spaces; double quotes protect both (`pool="a b"`). */
function splitGrants(service: string, cap: string): string[][] {
  if (cap.trim() === '') bad(service, cap, 'empty cap');
  if ((cap.match(/"/g) ?? []).length % 2 !== 0) bad(service, cap, 'unbalanced quotes');
  const grants = cap.split(/,(?=(?:[^"]*"[^"]*")*[^"]*$)/);
  return grants.map((g) => {
    const words = g.match(/(?:[^\s"]+|"[^"]*")+/g) ?? [];
    if (words.length === 0) bad(service, cap, 'empty grant');
    return words;
  });
}

/** Parses a mon cap string into the perms it grants. */
export function parseMonCap(cap: string): Set<MonPerm> {
  const out = new Set<MonPerm>();
  for (const words of splitGrants('mon', cap)) {
    const [verb, what, ...rest] = words;
    if (rest.length > 0) bad('mon', cap, `unexpected '${rest.join(' ')}'`);
    if (verb === 'allow' && what === '*') {
      out.add('r').add('w').add('x');
    } else if (verb === 'allow' && what !== undefined && letters(what)) {
      for (const l of letters(what)!) out.add(l as MonPerm);
    } else if (verb === 'profile' && (what === 'rbd' || what === 'rbd-mirror' || what === 'rbd-mirror-peer')) {
      // These profiles read the maps (and, on Ceph, blocklist or config-key); no pool admin.
      out.add('r');
    } else {
      bad('mon', cap, "expected 'allow *', 'allow r|rw|rwx' or 'profile rbd|rbd-mirror|rbd-mirror-peer'");
    }
  }
  return out;
}

function parsePool(service: string, cap: string, words: string[]): string | null {
  if (words.length === 0) return null;
  const [first, second] = words;
  let name: string | undefined;
  if (words.length === 1 && first!.startsWith('pool=')) name = first!.slice(5);
  else if (words.length === 2 && first === 'pool') name = second;
  if (name === undefined) bad(service, cap, `unexpected '${words.join(' ')}' (expected pool=NAME)`);
  const unquoted = name.replace(/"/g, '');
  if (unquoted === '') bad(service, cap, 'empty pool name');
  return unquoted;
}

/** Parses an osd (or mgr) cap string into its grants. */
export function parseOsdCap(cap: string, service = 'osd'): OsdGrant[] {
  return splitGrants(service, cap).map((words) => {
    const [verb, what, ...rest] = words;
    const pool = parsePool(service, cap, rest);
    if (verb === 'allow' && what === '*') return { pool, perms: new Set(ALL_OSD) };
    if (verb === 'allow' && what !== undefined && letters(what)) {
      const perms = new Set<OsdPerm>();
      for (const l of letters(what)!) {
        if (l === 'x') perms.add('class-read').add('class-write');
        else perms.add(l as OsdPerm);
      }
      return { pool, perms };
    }
    if (verb === 'profile' && what === 'rbd') return { pool, perms: new Set(ALL_OSD) };
    if (verb === 'profile' && what === 'rbd-read-only') {
      return { pool, perms: new Set<OsdPerm>(['r', 'class-read']) };
    }
    return bad(service, cap, "expected 'allow *', 'allow r|rw|rwx [pool=NAME]' or 'profile rbd|rbd-read-only [pool=NAME]'");
  });
}

/** Parses (and so validates) a whole caps map; EINVAL (`ERR_INVALID_ARGUMENT`) on a bad one. */
export function parseCaps(caps: Record<string, string>): ParsedCaps {
  let mon = new Set<MonPerm>();
  const osd: OsdGrant[] = [];
  for (const [service, cap] of Object.entries(caps)) {
    if (!SERVICES.has(service)) {
      throw err('ERR_INVALID_ARGUMENT', `unknown cap service '${service}' (expected mon, osd, mgr or mds): (22) Invalid argument`);
    }
    if (typeof cap !== 'string') bad(service, String(cap), 'not a string');
    if (service === 'mon') mon = parseMonCap(cap);
    else if (service === 'osd') osd.push(...parseOsdCap(cap));
    else parseOsdCap(cap, service);
  }
  return { mon, osd };
}

/** True when the grants that match `pool` together hold every perm in `need`. */
export function allowsOsd(caps: ParsedCaps, pool: string, need: readonly OsdPerm[]): boolean {
  const have = new Set<OsdPerm>();
  for (const g of caps.osd) {
    if (g.pool === null || g.pool === pool) for (const p of g.perms) have.add(p);
  }
  return need.every((p) => have.has(p));
}

export function allowsMon(caps: ParsedCaps, need: readonly MonPerm[]): boolean {
  return need.every((p) => caps.mon.has(p));
}

/** Throws EACCES (`ERR_PERMISSION`) unless the osd caps allow `need` on `pool`. */
export function checkOsd(caps: ParsedCaps, pool: string, need: readonly OsdPerm[], what: string): void {
  if (!allowsOsd(caps, pool, need)) throw err('ERR_PERMISSION', `${what}: (13) Permission denied`);
}

/** Throws EACCES (`ERR_PERMISSION`) unless the mon caps allow `need`. */
export function checkMon(caps: ParsedCaps, need: readonly MonPerm[], what: string): void {
  if (!allowsMon(caps, need)) throw err('ERR_PERMISSION', `${what}: (13) Permission denied`);
}
