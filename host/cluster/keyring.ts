/**
 * Ceph keyring files: one `[entity]` section per key, read with the conf parser as Ceph does
 * (`KeyRing::decode_plaintext` goes through ConfFile), written exactly as `ceph auth get`
 * prints them:
 *
 * ```
 * [client.admin]
 * 	key = AQBx...==
 * 	caps mon = "allow *"
 * ```
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { HostError, err } from '../errors.js';
import { describeSysError, parseConf, validateClusterName } from './conf.js';
import { parseEntityName } from './entity-name.js';

export interface KeyringEntry {
  /** The base64 secret. */
  key: string;
  /** Service → cap string, e.g. `{ mon: 'profile rbd', osd: 'profile rbd' }`. */
  caps: Record<string, string>;
}

/** Entity name (`client.admin`) → its entry, in file order. */
export type Keyring = Map<string, KeyringEntry>;

/** Services a keyring can hold caps for (Ceph refuses other cap types). */
export const CAP_SERVICES = ['mon', 'osd', 'mgr', 'mds'] as const;

const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function isCapService(s: string): boolean {
  return (CAP_SERVICES as readonly string[]).includes(s);
}

/**
 * Parses keyring text. Throws ERR_INVALID_ARGUMENT naming `origin` for malformed lines, bad
 * entity names, entries without a key, keys that are not base64 and unknown fields or cap
 * services. `[global]` is skipped, as Ceph does; `auid` and `pending key` are ignored.
 */
export function parseKeyring(text: string, origin = '<keyring>'): Keyring {
  const ring: Keyring = new Map();
  for (const [name, fields] of Object.entries(parseConf(text, origin))) {
    if (name === 'global') continue;
    const fail = (why: string) => err('ERR_INVALID_ARGUMENT', `parse error in ${origin} [${name}]: ${why}`);
    try {
      parseEntityName(name);
    } catch (e) {
      throw fail((e as Error).message);
    }
    let key: string | undefined;
    const caps: Record<string, string> = {};
    for (const [field, value] of Object.entries(fields)) {
      if (field === 'key') {
        key = value;
      } else if (field.startsWith('caps_')) {
        const svc = field.slice('caps_'.length);
        if (!isCapService(svc)) throw fail(`unknown cap type '${svc}' (expected ${CAP_SERVICES.join(', ')})`);
        caps[svc] = value;
      } else if (field !== 'auid' && field !== 'pending_key') {
        throw fail(`unknown field '${field.replace(/_/g, ' ')}'`);
      }
    }
    if (key === undefined) throw fail('no key');
    if (key === '' || !BASE64_RE.test(key)) throw fail('the key is not base64');
    ring.set(name, { key, caps });
  }
  return ring;
}

/**
 * Formats entries the way `ceph auth get` prints them: `[name]`, a tab, `key = ...`, then
 * `caps SVC = "..."` sorted by service, no blank lines. Entries keep the given order.
 * Throws ERR_INVALID_ARGUMENT for a bad name, key, cap service or cap text.
 */
export function formatKeyring(entries: Iterable<readonly [string, KeyringEntry]>): string {
  let out = '';
  const seen = new Set<string>();
  for (const [name, entry] of entries) {
    parseEntityName(name);
    if (seen.has(name)) throw err('ERR_INVALID_ARGUMENT', `keyring entry ${name} given twice`);
    seen.add(name);
    if (entry.key === '' || !BASE64_RE.test(entry.key)) {
      throw err('ERR_INVALID_ARGUMENT', `the key of ${name} is not base64`);
    }
    out += `[${name}]\n\tkey = ${entry.key}\n`;
    for (const svc of Object.keys(entry.caps).sort()) {
      const cap = entry.caps[svc] ?? '';
      if (!isCapService(svc)) {
        throw err('ERR_INVALID_ARGUMENT', `unknown cap type '${svc}' for ${name} (expected ${CAP_SERVICES.join(', ')})`);
      }
      if (/[\0\r\n]/.test(cap)) throw err('ERR_INVALID_ARGUMENT', `caps ${svc} of ${name} holds a newline or NUL`);
      // Ceph escapes only `"`; escaping `\` too keeps odd caps readable back unchanged.
      out += `\tcaps ${svc} = "${cap.replace(/[\\"]/g, '\\$&')}"\n`;
    }
  }
  return out;
}

/**
 * The keyring to use: `keyringOpt` (`--keyring`) wins, then the conf's `keyring` (already
 * metavariable-expanded; a relative path is taken from `confDir`), else
 * `<confDir>/<cluster>.<entity>.keyring`. Always absolute. Unlike Ceph, a comma-separated
 * list of keyrings is not searched: the value is one path.
 */
export function resolveKeyringPath(opts: {
  confDir: string;
  clusterName: string;
  entity: string;
  keyringOpt?: string | undefined;
  confKeyring?: string | undefined;
}): string {
  validateClusterName(opts.clusterName);
  const entity = parseEntityName(opts.entity).name;
  if (opts.keyringOpt !== undefined) {
    if (opts.keyringOpt === '') throw err('ERR_INVALID_ARGUMENT', 'empty --keyring path');
    return resolve(opts.keyringOpt);
  }
  if (opts.confKeyring !== undefined && opts.confKeyring !== '') return resolve(opts.confDir, opts.confKeyring);
  return join(resolve(opts.confDir), `${opts.clusterName}.${entity}.keyring`);
}

/**
 * Reads the entry of `entity` from the keyring at `path`. A missing or unreadable file, or an
 * entity the keyring lacks, is ERR_AUTH naming both; a malformed keyring ERR_INVALID_ARGUMENT.
 */
export async function readKeyringFor(opts: { path: string; entity: string }): Promise<KeyringEntry> {
  const { path, entity } = opts;
  parseEntityName(entity);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    // The errno number is left out: the error's own errno (EACCES) is what the CLI exits with.
    const why = describeSysError(e).text.replace(/^\(\d+\) /, '');
    throw err('ERR_AUTH', `unable to find a keyring on ${path} for ${entity}: ${why}`, { cause: e });
  }
  const ring = parseKeyring(text, path);
  const entry = ring.get(entity);
  if (!entry) {
    const has = ring.size > 0 ? ` (it holds ${[...ring.keys()].join(', ')})` : ' (it is empty)';
    throw err('ERR_AUTH', `keyring ${path} has no key for ${entity}${has}`);
  }
  return entry;
}

/**
 * Writes a keyring with mode 0600, atomically: a crash leaves the old file or the new one,
 * never half of one, and bad entries are refused before anything touches the disk.
 */
export async function writeKeyring(path: string, entries: Iterable<readonly [string, KeyringEntry]>): Promise<void> {
  const text = formatKeyring(entries);
  const target = resolve(path);
  const tmp = join(dirname(target), `.${randomBytes(6).toString('hex')}.keyring.tmp`);
  try {
    const fh = await open(tmp, 'wx', 0o600);
    try {
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, target);
  } catch (e) {
    await rm(tmp, { force: true });
    const d = describeSysError(e);
    throw new HostError('ERR_AUTH', d.errno ?? 'EIO', `can't write keyring ${target}: ${d.text}`, { cause: e });
  }
  // The rename is durable only once the directory is synced.
  const dir = await open(dirname(target), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
