/**
 * Which clients are alive, and their entity names, from the monitors' session lists
 * (`tell mon.X sessions`). librados reports watchers and lockers as `client.<gid>` only;
 * the Store wants the entity (`client.admin`) and needs to tell a dead watcher from a slow
 * one. Needs `mon 'allow *'` (or the `sessions` command) caps; without them every client
 * counts as alive and keeps the `client.<gid>` name.
 */
import type { Rados } from 'ceph-napi';

interface Session {
  name?: string;
  entity_name?: string;
  global_id?: number;
}

export class Sessions {
  private monNames: string[] | undefined;
  private readonly entities = new Map<string, string>();

  constructor(private readonly rados: Rados) {}

  private async mons(): Promise<string[]> {
    if (!this.monNames) {
      const { outbuf } = await this.rados.monCommand(JSON.stringify({ prefix: 'mon dump', format: 'json' }));
      const dump = JSON.parse(outbuf.toString()) as { mons?: Array<{ name: string }> };
      this.monNames = (dump.mons ?? []).map((m) => m.name);
    }
    return this.monNames;
  }

  /** gid → entity of every client with a monitor session; undefined if we may not ask. */
  async live(): Promise<Map<string, string> | undefined> {
    try {
      const out = new Map<string, string>();
      const lists = await Promise.all(
        (await this.mons()).map(async (m) => {
          const { outbuf } = await this.rados.monCommand(JSON.stringify({ prefix: 'sessions', format: 'json' }), null, m);
          return JSON.parse(outbuf.toString()) as Session[];
        }),
      );
      for (const s of lists.flat()) {
        const entity = s.entity_name ?? '';
        const m = /^client\.(\d+)$/.exec(s.name ?? '');
        if (m) out.set(m[1]!, entity);
        if (typeof s.global_id === 'number' && s.global_id > 0 && (s.name ?? '').startsWith('client.')) out.set(String(s.global_id), entity);
      }
      for (const [gid, e] of out) if (e) this.entities.set(gid, e);
      return out;
    } catch {
      return undefined;
    }
  }

  /** The entity of a client seen before (or `client.<gid>`). */
  entityOf(gid: string): string {
    return this.entities.get(gid) ?? `client.${gid}`;
  }

  remember(gid: string, entity: string): void {
    this.entities.set(gid, entity);
  }
}
