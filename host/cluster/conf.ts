/**
 * ceph.conf-style conf files: `[section]` headers, `key = value` lines, `#`/`;` comments.
 *
 * Syntax accepted (a subset of Ceph's, chosen so every file `formatConf` writes reads back
 * the same):
 * - Comments start with `#` or `;`, on their own line or after a value, except inside quotes.
 * - Keys hold letters, digits, spaces, `.`, `_` and `-`; they are normalized with
 *   `normalizeConfKey`, so `rbd default features` and `rbd_default_features` are one key.
 * - A value is either bare text (trimmed; a backslash is literal) or a `"quoted"` string in
 *   which a backslash escapes the next character. Line continuations are not supported.
 * - A key repeated in one section (or in a section repeated later): the last one wins.
 */
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { ERRNO, HostError, STRERROR, err, type ErrnoName } from '../errors.js';
import { normalizeConfKey, type ConfView } from './conf-view.js';
import { parseEntityName } from './entity-name.js';
import type { ConfSections } from './store.js';

/** Where `NAME.conf` lives when neither `--conf` nor `$RBDM_CONF_DIR` says otherwise. */
export const DEFAULT_CONF_DIR = '/etc/rbdm';

const CLUSTER_NAME_RE = /^[A-Za-z0-9_-]+$/;
const KEY_RE = /^[A-Za-z0-9_. -]+$/;

/** Throws ERR_INVALID_ARGUMENT unless `name` is a cluster name (`[A-Za-z0-9_-]+`). */
export function validateClusterName(name: string): void {
  if (!CLUSTER_NAME_RE.test(name)) {
    throw err('ERR_INVALID_ARGUMENT', `invalid cluster name '${name}': use letters, digits, _ and -`);
  }
}

/**
 * A system error as rbd prints it: `(2) No such file or directory`, plus its errno name when
 * the catalog knows it (callers pick the HostError's errno from it).
 */
export function describeSysError(e: unknown): { errno: ErrnoName | undefined; text: string } {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === 'string' && code in ERRNO) {
    const name = code as ErrnoName;
    return { errno: name, text: `(${ERRNO[name]}) ${STRERROR[name]}` };
  }
  if (code === 'EISDIR') return { errno: undefined, text: '(21) Is a directory' };
  return { errno: undefined, text: e instanceof Error ? e.message : String(e) };
}

// Plain objects would answer `constructor` or `__proto__` lookups from their prototype.
function record(): Record<string, string> {
  return Object.create(null) as Record<string, string>;
}

function isCommentStart(s: string): boolean {
  return s.startsWith('#') || s.startsWith(';');
}

function parseValue(text: string, fail: (why: string) => HostError): string {
  const v = text.trimStart();
  if (!v.startsWith('"')) {
    const cut = v.search(/[#;]/);
    return (cut < 0 ? v : v.slice(0, cut)).trimEnd();
  }
  let out = '';
  let j = 1;
  for (; j < v.length; j++) {
    const c = v[j];
    if (c === '\\' && j + 1 < v.length) {
      out += v[++j];
    } else if (c === '"') {
      break;
    } else {
      out += c;
    }
  }
  if (j >= v.length) throw fail('unterminated quoted value');
  const rest = v.slice(j + 1).trim();
  if (rest !== '' && !isCommentStart(rest)) throw fail(`unexpected text after quoted value: '${rest}'`);
  return out;
}

/**
 * Parses conf text into `section → normalized key → raw value` (metavariables are expanded
 * later, by the view). `origin` names the file in errors: a malformed line throws
 * ERR_INVALID_ARGUMENT "parse error in ORIGIN line N: ...".
 */
export function parseConf(text: string, origin = '<conf>'): ConfSections {
  const sections: ConfSections = Object.create(null) as ConfSections;
  let current: Record<string, string> | undefined;
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? '').trim();
    const fail = (why: string) => err('ERR_INVALID_ARGUMENT', `parse error in ${origin} line ${i + 1}: ${why}`);
    if (line === '' || isCommentStart(line)) continue;
    if (line.startsWith('[')) {
      const close = line.indexOf(']');
      if (close < 0) throw fail(`unterminated section header '${line}'`);
      const name = line.slice(1, close).trim();
      if (name === '') throw fail('empty section name');
      if (name.includes('[')) throw fail(`invalid section name '${name}'`);
      const rest = line.slice(close + 1).trim();
      if (rest !== '' && !isCommentStart(rest)) throw fail(`unexpected text after section header: '${rest}'`);
      current = sections[name] ??= record();
      continue;
    }
    const eq = line.search(/[=#;]/);
    if (eq < 0 || line[eq] !== '=') throw fail(`expected 'key = value', got '${line}'`);
    const key = line.slice(0, eq).trim();
    if (key === '') throw fail(`missing key before '=' in '${line}'`);
    if (!KEY_RE.test(key)) throw fail(`invalid key '${key}' (letters, digits, spaces, . _ - only)`);
    if (!current) throw fail(`'${key}' is outside any section (add a [global] header above it)`);
    current[normalizeConfKey(key)] = parseValue(line.slice(eq + 1), fail);
  }
  return sections;
}

function quoteValue(value: string, where: string): string {
  if (/[\0\r\n]/.test(value)) throw err('ERR_INVALID_ARGUMENT', `${where}: values cannot hold newlines or NUL`);
  if (value === '' || /[#;"\\]/.test(value) || value !== value.trim()) {
    return `"${value.replace(/[\\"]/g, '\\$&')}"`;
  }
  return value;
}

/**
 * Writes sections as a conf people read and edit: keys with spaces (`rbd default features`),
 * one tab of indent, a blank line between sections, values quoted only when they must be.
 * `parseConf(formatConf(s))` equals `s` (with keys normalized). Throws ERR_INVALID_ARGUMENT
 * for names or values a conf file cannot hold.
 */
export function formatConf(sections: ConfSections): string {
  const lines: string[] = [];
  for (const [name, kv] of Object.entries(sections)) {
    if (name !== name.trim() || name === '' || /[[\]#;\0\r\n]/.test(name)) {
      throw err('ERR_INVALID_ARGUMENT', `invalid conf section name '${name}'`);
    }
    lines.push(`[${name}]`);
    const seen = new Set<string>();
    for (const [rawKey, value] of Object.entries(kv)) {
      const key = normalizeConfKey(rawKey);
      // A key starting or ending in a separator would not read back as itself.
      if (!KEY_RE.test(rawKey) || key === '' || key.startsWith('_') || key.endsWith('_')) {
        throw err('ERR_INVALID_ARGUMENT', `invalid conf key '${rawKey}' in [${name}]`);
      }
      if (seen.has(key)) throw err('ERR_INVALID_ARGUMENT', `conf key '${rawKey}' appears twice in [${name}]`);
      seen.add(key);
      lines.push(`\t${key.replace(/_/g, ' ')} = ${quoteValue(value, `[${name}] ${rawKey}`)}`);
    }
    lines.push('');
  }
  return lines.join('\n');
}

/**
 * The conf path of a cluster: `confPath` (`--conf`) wins; else `$RBDM_CONF_DIR/NAME.conf`,
 * `/etc/rbdm/NAME.conf` by default. Always absolute. Throws ERR_INVALID_ARGUMENT for a bad
 * cluster name or an empty `--conf`.
 */
export function resolveConfPath(opts: {
  clusterName: string;
  confPath?: string | undefined;
  env?: Record<string, string | undefined> | undefined;
}): string {
  validateClusterName(opts.clusterName);
  if (opts.confPath !== undefined) {
    if (opts.confPath === '') throw err('ERR_INVALID_ARGUMENT', 'empty --conf path');
    return resolve(opts.confPath);
  }
  const env = opts.env ?? process.env;
  const dir = env['RBDM_CONF_DIR'] || DEFAULT_CONF_DIR;
  return join(resolve(dir), `${opts.clusterName}.conf`);
}

/** Values Ceph substitutes for `$cluster`, `$type`, `$id`, `$name`, `$host`, `$pid`. */
function metavariables(clusterName: string, entity: string): Record<string, string> {
  const { type, id, name } = parseEntityName(entity);
  return {
    cluster: clusterName,
    type,
    id,
    name,
    // Ceph's $host is the short hostname.
    host: hostname().split('.')[0] ?? '',
    pid: String(process.pid),
  };
}

// `$idx` expands `$id` then `x`, as Ceph matches metavariable names by prefix; unknown
// `$words` stay as they are.
const META_RE = /\$\{(cluster|type|id|name|host|pid)\}|\$(cluster|type|id|name|host|pid)/g;

/** Expands Ceph metavariables in a conf value. */
export function expandMetavariables(value: string, vars: Record<string, string>): string {
  return value.replace(META_RE, (all, braced?: string, bare?: string) => vars[braced ?? bare ?? ''] ?? all);
}

/**
 * A ConfView over parsed sections: `get` looks in `[entity]`, `[type]`, then `[global]`, and
 * expands metavariables. `dir` is the conf file's directory.
 */
export function makeConfView(opts: {
  clusterName: string;
  path: string;
  entity: string;
  sections: ConfSections;
}): ConfView {
  const { clusterName, path, sections } = opts;
  const entity = parseEntityName(opts.entity);
  const vars = metavariables(clusterName, entity.name);
  const order = [entity.name, entity.type, 'global'];
  return Object.freeze({
    clusterName,
    path,
    dir: path === '' ? '' : dirname(path),
    entity: entity.name,
    get(key: string): string | undefined {
      const k = normalizeConfKey(key);
      for (const name of order) {
        const section = Object.hasOwn(sections, name) ? sections[name] : undefined;
        if (section && Object.hasOwn(section, k)) return expandMetavariables(section[k] ?? '', vars);
      }
      return undefined;
    },
  });
}

/**
 * Reads and parses a cluster's conf (see `resolveConfPath`). A missing or unreadable file is
 * ERR_CONF naming the path; a malformed one ERR_INVALID_ARGUMENT with its line; a bad
 * cluster or entity name ERR_INVALID_ARGUMENT.
 */
export async function loadConf(opts: {
  clusterName: string;
  confPath?: string | undefined;
  entity: string;
  env?: Record<string, string | undefined> | undefined;
}): Promise<{ view: ConfView; sections: ConfSections }> {
  parseEntityName(opts.entity);
  const path = resolveConfPath(opts);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const d = describeSysError(e);
    const msg = `can't open ${path}: ${d.text}`;
    throw d.errno === undefined || d.errno === 'ENOENT'
      ? err('ERR_CONF', msg, { cause: e })
      : new HostError('ERR_CONF', d.errno, msg, { cause: e });
  }
  const sections = parseConf(text, path);
  return { sections, view: makeConfView({ clusterName: opts.clusterName, path, entity: opts.entity, sections }) };
}
