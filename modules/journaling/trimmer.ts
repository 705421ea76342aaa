/**
 * Trimming (Ceph's JournalTrimmer) and the laggy-client bound
 * (`rbd_journal_max_concurrent_object_sets`, plus a byte bound):
 *
 * ```
 *  read header
 *   ├─ each connected peer client (never the image's own '') further behind the active set
 *   │  than the bound ─▶ marked disconnected (guarded on its old value)
 *   ├─ trim point = min object set of the connected clients' positions
 *   │  (a connected client with no position pins minimum_set: nothing is trimmed)
 *   ├─ remove the objects of sets [minimum_set, trim point) (ENOENT is fine), then
 *   │  minimum_set = trim point (never backwards)
 *   └─ tags older than every client's position are removed (the newest one stays)
 * ```
 */
import type { Journal } from './journal.js';
import { tagKey } from './journal-header.js';
import { IMAGE_CLIENT_ID, type JournalClient, type JournalMetadata } from './types.js';

export interface TrimPolicy {
  /** 0 = unbounded. */
  maxConcurrentObjectSets: number;
  /** 0 = unbounded. */
  maxClientLagBytes: number;
}

export interface TrimResult {
  meta: JournalMetadata;
  removedSets: number;
  /** Clients disconnected by this call. */
  disconnected: string[];
}

export function clientSet(c: JournalClient, meta: JournalMetadata): number {
  const p = c.commitPosition[0];
  return p ? Math.floor(p.objectNumber / meta.splayWidth) : meta.minimumSet;
}

export async function trimJournal(j: Journal, policy: TrimPolicy): Promise<TrimResult> {
  let meta = await j.read();
  const disconnected: string[] = [];
  for (const c of meta.clients) {
    if (c.id === IMAGE_CLIENT_ID || c.state !== 'connected') continue;
    if (await tooFarBehind(j, c, meta, policy)) {
      await j.header.updateClient(c.id, (x) => ({ ...x, state: 'disconnected' }));
      disconnected.push(c.id);
    }
  }
  if (disconnected.length) meta = await j.read();
  const connected = meta.clients.filter((c) => c.state === 'connected');
  const trimTo = Math.min(meta.activeSet, ...connected.map((c) => clientSet(c, meta)));
  let removedSets = 0;
  if (trimTo > meta.minimumSet) {
    for (let s = meta.minimumSet; s < trimTo; s++) {
      await j.removeObjects(Array.from({ length: meta.splayWidth }, (_, i) => s * meta.splayWidth + i));
      removedSets++;
    }
    await j.header.advanceSet('minimum_set', trimTo, expiredTagSteps(meta));
    meta = await j.read();
  }
  if (disconnected.length || removedSets) await j.header.notify();
  return { meta, removedSets, disconnected };
}

async function tooFarBehind(j: Journal, c: JournalClient, meta: JournalMetadata, policy: TrimPolicy): Promise<boolean> {
  const set = clientSet(c, meta);
  if (policy.maxConcurrentObjectSets > 0 && meta.activeSet - set > policy.maxConcurrentObjectSets) return true;
  if (policy.maxClientLagBytes > 0) {
    let bytes = 0;
    for (let s = set; s <= meta.activeSet; s++) {
      for (let i = 0; i < meta.splayWidth; i++) {
        bytes += await j.dataIo.stat(j.objectOid(s * meta.splayWidth + i)).then((st) => st.size, () => 0);
      }
    }
    return bytes > policy.maxClientLagBytes;
  }
  return false;
}

/** Tag records no client can need any more (Ceph's expire_tags); skipped while any client has no position. */
function expiredTagSteps(meta: JournalMetadata) {
  if (meta.clients.some((c) => c.commitPosition.length === 0)) return [];
  const minTag = Math.min(...meta.clients.map((c) => c.commitPosition[0]!.tagTid));
  const newest = meta.tags[meta.tags.length - 1]?.tid ?? 0;
  const keys = meta.tags.filter((t) => t.tid < minTag && t.tid !== newest).map((t) => tagKey(t.tid));
  return keys.length ? [{ op: 'omap_rm' as const, keys }] : [];
}
