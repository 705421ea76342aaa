/**
 * The auth database (the monitor's, in Ceph): entities, their cephx keys and caps, in the
 * `auth` table. Changing caps affects new connections; an open one keeps the caps it
 * authenticated with, as a cephx ticket does until renewal.
 */
import { timingSafeEqual } from 'node:crypto';
import { err } from '../../errors.js';
import { checkMon, parseCaps, type ParsedCaps } from '../caps.js';
import type { AuthAdmin, AuthEntity } from '../store.js';
import { generateCephxKey } from './cephx-key.js';
import type { Committer } from './committer.js';
import type { Db } from './sqlite-schema.js';

const ENTITY_TYPES = new Set(['client', 'mgr', 'osd', 'mon', 'mds']);

interface AuthRow {
  entity: string;
  key: string;
  caps: string;
}

export function validateEntity(entity: unknown): asserts entity is string {
  const m = typeof entity === 'string' ? /^([a-z]+)\.(\S+)$/.exec(entity) : null;
  if (!m || !ENTITY_TYPES.has(m[1]!) || Buffer.byteLength(entity as string) > 255) {
    throw err('ERR_INVALID_ARGUMENT', `bad entity name '${String(entity)}' (expected TYPE.ID, TYPE one of client, mgr, osd, mon, mds): (22) Invalid argument`);
  }
}

function toEntity(row: AuthRow): AuthEntity {
  return { entity: row.entity, key: row.key, caps: JSON.parse(row.caps) as Record<string, string> };
}

function validateCapsMap(caps: unknown): asserts caps is Record<string, string> {
  if (typeof caps !== 'object' || caps === null || Array.isArray(caps)) {
    throw err('ERR_INVALID_ARGUMENT', 'caps must be an object of service → cap string: (22) Invalid argument');
  }
  parseCaps(caps as Record<string, string>);
}

/** The caps in a stable key order, for storage and comparison. */
function normalize(caps: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.keys(caps).sort().map((k) => [k, caps[k]!]));
}

function sameCaps(a: Record<string, string>, b: Record<string, string>): boolean {
  return JSON.stringify(normalize(a)) === JSON.stringify(normalize(b));
}

/** Checks `key` for `entity`; returns its parsed caps. EACCES (`ERR_AUTH`) otherwise. */
export function authenticate(db: Db, entity: string, key: string): { caps: ParsedCaps } {
  const row = db.prepare('SELECT entity, key, caps FROM auth WHERE entity = ?').get(entity) as AuthRow | undefined;
  if (!row) throw err('ERR_AUTH', `authentication error: no entity '${entity}' in the cluster's auth database: (13) Permission denied`);
  const a = Buffer.from(row.key);
  const b = Buffer.from(String(key));
  if (a.length !== b.length || !timingSafeEqual(a, b)) {
    throw err('ERR_AUTH', `authentication error: wrong key for '${entity}': (13) Permission denied`);
  }
  return { caps: parseCaps(JSON.parse(row.caps) as Record<string, string>) };
}

export class EmbeddedAuthAdmin implements AuthAdmin {
  constructor(
    private readonly db: Db,
    private readonly committer: Committer,
    private readonly caps: () => ParsedCaps,
  ) {}

  private guard(what: string): void {
    checkMon(this.caps(), ['r', 'w', 'x'], `auth ${what}`);
  }

  private row(entity: string): AuthRow | undefined {
    return this.db.prepare('SELECT entity, key, caps FROM auth WHERE entity = ?').get(entity) as AuthRow | undefined;
  }

  private required(entity: string): AuthRow {
    const row = this.row(entity);
    if (!row) throw err('ERR_ENTITY_NOT_FOUND', `entity ${entity} does not exist: (2) No such file or directory`);
    return row;
  }

  async getOrCreate(entity: string, caps: Record<string, string>): Promise<AuthEntity> {
    this.guard('get-or-create');
    validateEntity(entity);
    validateCapsMap(caps);
    return this.committer.write(() => {
      const row = this.row(entity);
      if (row) {
        const have = toEntity(row);
        if (!sameCaps(have.caps, caps)) {
          throw err('ERR_INVALID_ARGUMENT', `key for ${entity} exists but caps do not match: (22) Invalid argument`);
        }
        return have;
      }
      const created = { entity, key: generateCephxKey(), caps: JSON.stringify(normalize(caps)) };
      this.db.prepare('INSERT INTO auth (entity, key, caps) VALUES (?, ?, ?)').run(created.entity, created.key, created.caps);
      return toEntity(created);
    });
  }

  async get(entity: string): Promise<AuthEntity> {
    this.guard('get');
    validateEntity(entity);
    return this.committer.read(() => toEntity(this.required(entity)));
  }

  async list(): Promise<AuthEntity[]> {
    this.guard('ls');
    return this.committer.read(() =>
      (this.db.prepare('SELECT entity, key, caps FROM auth ORDER BY entity').all() as AuthRow[]).map(toEntity),
    );
  }

  async remove(entity: string): Promise<void> {
    this.guard('rm');
    validateEntity(entity);
    await this.committer.write(() => {
      this.required(entity);
      this.db.prepare('DELETE FROM auth WHERE entity = ?').run(entity);
    });
  }

  async setCaps(entity: string, caps: Record<string, string>): Promise<AuthEntity> {
    this.guard('caps');
    validateEntity(entity);
    validateCapsMap(caps);
    return this.committer.write(() => {
      const row = this.required(entity);
      const next = { ...row, caps: JSON.stringify(normalize(caps)) };
      this.db.prepare('UPDATE auth SET caps = ? WHERE entity = ?').run(next.caps, entity);
      return toEntity(next);
    });
  }
}
