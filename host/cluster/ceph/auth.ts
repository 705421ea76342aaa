/**
 * AuthAdmin over monitor commands (`auth get-or-create|get|ls|del|caps`, JSON format).
 * The monitor enforces the caller's caps (EACCES → ERR_PERMISSION).
 */
import { err, HostError } from '../../errors.js';
import type { AuthAdmin, AuthEntity } from '../store.js';
import { validateEntity } from '../embedded/auth-admin.js';
import type { Rados } from 'ceph-napi';
import { errnoOf, mapRadosError } from './errors.js';

interface MonEntity {
  entity: string;
  key: string;
  caps?: Record<string, string>;
}

function toEntity(m: MonEntity): AuthEntity {
  return { entity: m.entity, key: m.key, caps: { ...(m.caps ?? {}) } };
}

function capsArgs(caps: unknown): string[] {
  if (typeof caps !== 'object' || caps === null || Array.isArray(caps)) {
    throw err('ERR_INVALID_ARGUMENT', 'caps must be an object of service → cap string: (22) Invalid argument');
  }
  return Object.entries(caps as Record<string, unknown>).flatMap(([svc, cap]) => {
    if (typeof cap !== 'string') throw err('ERR_INVALID_ARGUMENT', `cap of '${svc}' must be a string: (22) Invalid argument`);
    return [svc, cap];
  });
}

export class CephAuthAdmin implements AuthAdmin {
  constructor(private readonly rados: () => Rados) {}

  private async mon(what: string, cmd: Record<string, unknown>, entity?: string): Promise<unknown> {
    try {
      const { outbuf } = await this.rados().monCommand(JSON.stringify({ ...cmd, format: 'json' }));
      return outbuf.length > 0 ? JSON.parse(outbuf.toString()) : undefined;
    } catch (e) {
      const outs = (e as { outs?: string }).outs ?? '';
      if (errnoOf(e) === 'ENOENT' && entity !== undefined) {
        throw err('ERR_ENTITY_NOT_FOUND', `entity ${entity} does not exist: (2) No such file or directory`, { cause: e });
      }
      if (errnoOf(e) === 'EINVAL') throw err('ERR_INVALID_ARGUMENT', `auth ${what}: ${outs || 'invalid'}: (22) Invalid argument`, { cause: e });
      throw mapRadosError(e, { what: `auth ${what}${outs ? ` (${outs})` : ''}` });
    }
  }

  async getOrCreate(entity: string, caps: Record<string, string>): Promise<AuthEntity> {
    validateEntity(entity);
    const out = (await this.mon('get-or-create', { prefix: 'auth get-or-create', entity, caps: capsArgs(caps) })) as MonEntity[];
    return toEntity(out[0]!);
  }

  async get(entity: string): Promise<AuthEntity> {
    validateEntity(entity);
    const out = (await this.mon('get', { prefix: 'auth get', entity }, entity)) as MonEntity[];
    if (!out[0]) throw err('ERR_ENTITY_NOT_FOUND', `entity ${entity} does not exist: (2) No such file or directory`);
    return toEntity(out[0]);
  }

  async list(): Promise<AuthEntity[]> {
    const out = (await this.mon('ls', { prefix: 'auth ls' })) as { auth_dump?: MonEntity[] };
    return (out.auth_dump ?? []).map(toEntity).sort((a, b) => (a.entity < b.entity ? -1 : a.entity > b.entity ? 1 : 0));
  }

  async remove(entity: string): Promise<void> {
    // `auth del` of a missing entity succeeds in 16.2: look first, for the contract's ENOENT.
    await this.get(entity);
    await this.mon('rm', { prefix: 'auth del', entity }, entity);
  }

  async setCaps(entity: string, caps: Record<string, string>): Promise<AuthEntity> {
    validateEntity(entity);
    const args = capsArgs(caps);
    await this.mon('caps', { prefix: 'auth caps', entity, caps: args }, entity);
    return this.get(entity);
  }
}

export { HostError };
