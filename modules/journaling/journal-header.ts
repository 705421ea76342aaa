/**
 * The journal header object `journal.<image id>` (cls_journal's keys, values as UTF-8 text
 * or JSON): `order`, `splay_width`, `pool_id`, `minimum_set`, `active_set`,
 * `next_tag_tid`, `client_<id>`, `tag_<16 hex digits>`.
 *
 * The store has no object classes, so each cls method is a guarded compound op: a change to
 * one key is guarded by `cmp_omap` on its old value (a concurrent change retries or fails),
 * the way cls_journal serialises them on the OSD.
 */
import { err, errno, type IoCtx, type WriteStep } from '../../host/index.js';
import type { CommitPosition, JournalClient, JournalMetadata, Tag, TagData } from './types.js';

export const headerOid = (imageId: string) => `journal.${imageId}`;
/** `journal_data.<data pool id>.<image id>.` as Journaler's object_oid_prefix. */
export const objectPrefix = (dataPoolId: number, imageId: string) => `journal_data.${dataPoolId}.${imageId}.`;
export const clientKey = (id: string) => `client_${id}`;
export const tagKey = (tid: number) => `tag_${tid.toString(16).padStart(16, '0')}`;

const txt = (v: string | number) => Buffer.from(String(v));
const num = (m: Map<string, Buffer>, k: string): number => {
  const v = m.get(k);
  if (v === undefined) throw errno('EIO', 'ERR_JOURNAL_CORRUPT', `journal header lacks '${k}'`);
  return Number(v.toString());
};

export function encodeClient(c: JournalClient): Buffer {
  return Buffer.from(JSON.stringify({
    id: c.id, data: c.data,
    commit_position: { object_positions: c.commitPosition.map((p) => ({ object_number: p.objectNumber, tag_tid: p.tagTid, entry_tid: p.entryTid })) },
    state: c.state,
  }));
}

function decodeClient(b: Buffer): JournalClient {
  const j = JSON.parse(b.toString()) as { id: string; data: Record<string, unknown>; state: 'connected' | 'disconnected';
    commit_position: { object_positions: Array<{ object_number: number; tag_tid: number; entry_tid: number }> } };
  return {
    id: j.id, data: j.data ?? {}, state: j.state,
    commitPosition: j.commit_position.object_positions.map((p) => ({ objectNumber: p.object_number, tagTid: p.tag_tid, entryTid: p.entry_tid })),
  };
}

function encodeTag(t: Tag): Buffer {
  const p = t.data.predecessor;
  return Buffer.from(JSON.stringify({
    tid: t.tid, tag_class: t.tagClass,
    data: { mirror_uuid: t.data.mirrorUuid, predecessor: { mirror_uuid: p.mirrorUuid, commit_valid: p.commitValid, tag_tid: p.tagTid, entry_tid: p.entryTid } },
  }));
}

function decodeTag(b: Buffer): Tag {
  const j = JSON.parse(b.toString()) as { tid: number; tag_class: number; data: { mirror_uuid: string;
    predecessor: { mirror_uuid: string; commit_valid: boolean; tag_tid: number; entry_tid: number } } };
  const p = j.data.predecessor;
  return { tid: j.tid, tagClass: j.tag_class, data: { mirrorUuid: j.data.mirror_uuid,
    predecessor: { mirrorUuid: p.mirror_uuid, commitValid: p.commit_valid, tagTid: p.tag_tid, entryTid: p.entry_tid } } };
}

export interface CreateJournalOptions {
  order: number;
  splayWidth: number;
  poolId: number;
  /** Owner of the first tag (`''`: this site is primary). */
  mirrorUuid: string;
}

export class JournalHeader {
  readonly oid: string;

  constructor(readonly io: IoCtx, readonly imageId: string) {
    this.oid = headerOid(imageId);
  }

  /** cls_journal `create`, plus the image's own client and the first tag. EEXIST if it exists. */
  async create(o: CreateJournalOptions): Promise<void> {
    const image: JournalClient = { id: '', data: { tag_class: 0 }, commitPosition: [], state: 'connected' };
    const tag: Tag = { tid: 0, tagClass: 0, data: { mirrorUuid: o.mirrorUuid, predecessor: { mirrorUuid: '', commitValid: false, tagTid: 0, entryTid: 0 } } };
    const entries = new Map<string, Uint8Array>([
      ['order', txt(o.order)], ['splay_width', txt(o.splayWidth)], ['pool_id', txt(o.poolId)],
      ['minimum_set', txt(0)], ['active_set', txt(0)], ['next_tag_tid', txt(1)], ['next_tag_class', txt(1)],
      [clientKey(''), encodeClient(image)], [tagKey(0), encodeTag(tag)],
    ]);
    await this.io.operate(this.oid, { guards: [{ op: 'assert_not_exists' }], steps: [{ op: 'create', exclusive: true }, { op: 'omap_set', entries }] });
  }

  async exists(): Promise<boolean> {
    try {
      await this.io.stat(this.oid);
      return true;
    } catch (e) {
      if ((e as { errno?: string }).errno === 'ENOENT') return false;
      throw e;
    }
  }

  async read(): Promise<JournalMetadata> {
    const all = new Map<string, Buffer>();
    let after: string | undefined;
    for (;;) {
      let page;
      try {
        page = await this.io.omapGetVals(this.oid, { ...(after !== undefined ? { after } : {}), max: 1024 });
      } catch (e) {
        if ((e as { errno?: string }).errno === 'ENOENT') throw errno('ENOENT', 'ERR_JOURNAL_NOT_FOUND', `journal of image ${this.imageId} does not exist`);
        throw e;
      }
      for (const [k, v] of page.entries) {
        all.set(k, v);
        after = k;
      }
      if (!page.more) break;
    }
    const clients: JournalClient[] = [];
    const tags: Tag[] = [];
    for (const [k, v] of all) {
      if (k.startsWith('client_')) clients.push(decodeClient(v));
      else if (k.startsWith('tag_')) tags.push(decodeTag(v));
    }
    return {
      imageId: this.imageId, order: num(all, 'order'), splayWidth: num(all, 'splay_width'), poolId: num(all, 'pool_id'),
      minimumSet: num(all, 'minimum_set'), activeSet: num(all, 'active_set'), nextTagTid: num(all, 'next_tag_tid'),
      clients: clients.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)), tags: tags.sort((a, b) => a.tid - b.tid),
    };
  }

  async getClient(id: string): Promise<JournalClient | undefined> {
    const v = (await this.io.omapGetValsByKeys(this.oid, [clientKey(id)])).get(clientKey(id));
    return v ? decodeClient(v) : undefined;
  }

  /** cls_journal `client_register`: EEXIST when registered. */
  async registerClient(id: string, data: Record<string, unknown>): Promise<void> {
    if (await this.getClient(id)) throw err('ERR_OBJECT_EXISTS', `journal client '${id}' is already registered`);
    const c: JournalClient = { id, data, commitPosition: [], state: 'connected' };
    await this.io.operate(this.oid, { guards: [{ op: 'assert_exists' }], steps: [{ op: 'omap_set', entries: new Map([[clientKey(id), encodeClient(c)]]) }] });
  }

  async unregisterClient(id: string): Promise<void> {
    if (!(await this.getClient(id))) throw clientNotFound(id);
    await this.io.operate(this.oid, { guards: [{ op: 'assert_exists' }], steps: [{ op: 'omap_rm', keys: [clientKey(id)] }] });
  }

  /**
   * Read-modify-write of one client, guarded by its old value: a commit racing with the
   * trimmer's disconnect keeps both (the disconnect is never overwritten by a stale copy).
   */
  async updateClient(id: string, change: (c: JournalClient) => JournalClient): Promise<JournalClient> {
    for (let attempt = 0; ; attempt++) {
      const raw = (await this.io.omapGetValsByKeys(this.oid, [clientKey(id)])).get(clientKey(id));
      if (!raw) throw clientNotFound(id);
      const next = change(decodeClient(raw));
      try {
        await this.io.operate(this.oid, {
          guards: [{ op: 'cmp_omap', key: clientKey(id), cmp: 'eq', value: raw }],
          steps: [{ op: 'omap_set', entries: new Map([[clientKey(id), encodeClient(next)]]) }],
        });
        return next;
      } catch (e) {
        if ((e as { errno?: string }).errno !== 'ECANCELED' || attempt > 16) throw e;
      }
    }
  }

  commit(id: string, position: CommitPosition): Promise<JournalClient> {
    return this.updateClient(id, (c) => ({ ...c, commitPosition: position }));
  }

  /** cls_journal `tag_create` with a fresh tid; the predecessor is the caller's. */
  async allocateTag(data: TagData, tagClass = 0): Promise<Tag> {
    for (let attempt = 0; ; attempt++) {
      const raw = (await this.io.omapGetValsByKeys(this.oid, ['next_tag_tid'])).get('next_tag_tid');
      if (!raw) throw errno('ENOENT', 'ERR_JOURNAL_NOT_FOUND', `journal of image ${this.imageId} does not exist`);
      const tag: Tag = { tid: Number(raw.toString()), tagClass, data };
      try {
        await this.io.operate(this.oid, {
          guards: [{ op: 'cmp_omap', key: 'next_tag_tid', cmp: 'eq', value: raw }],
          steps: [{ op: 'omap_set', entries: new Map([['next_tag_tid', txt(tag.tid + 1)], [tagKey(tag.tid), encodeTag(tag)]]) }],
        });
        return tag;
      } catch (e) {
        if ((e as { errno?: string }).errno !== 'ECANCELED' || attempt > 16) throw e;
      }
    }
  }

  /** cls_journal `set_active_set` / `set_minimum_set`: never backwards, min ≤ active. */
  async advanceSet(key: 'active_set' | 'minimum_set', to: number, extra: WriteStep[] = []): Promise<void> {
    const raw = (await this.io.omapGetValsByKeys(this.oid, [key])).get(key);
    if (!raw) throw errno('ENOENT', 'ERR_JOURNAL_NOT_FOUND', `journal of image ${this.imageId} does not exist`);
    if (Number(raw.toString()) >= to) return;
    await this.io.operate(this.oid, {
      guards: [{ op: 'cmp_omap', key, cmp: 'eq', value: raw }],
      steps: [{ op: 'omap_set', entries: new Map([[key, txt(to)]]) }, ...extra],
    });
  }

  /** Wakes watchers (replayers) after a change they care about; failures only delay them. */
  async notify(): Promise<void> {
    await this.io.notify(this.oid, Buffer.from('{"op":"update"}'), 1000).catch(() => undefined);
  }
}

export function clientNotFound(id: string) {
  return errno('ENOENT', 'ERR_JOURNAL_CLIENT_NOT_FOUND', `journal client '${id}' is not registered`);
}
