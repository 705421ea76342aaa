/**
 * Pure reading of journal tag chains (ownership epochs), as rbd-mirror's journal
 * `PrepareReplayRequest` and `Replayer` do: owner translation between the two sites, the
 * demotion a replica must consume, and the link that lets a demoted site follow the peer's
 * new epoch without a full sync. Tag tids belong to the journal that holds the tag; a
 * predecessor names a position in the journal its owner wrote.
 *
 * @verbatim
 *  local last tag owner          remote (primary) tags                         verdict
 *  ---------------------         -----------------------------------------     ------------------
 *  remote's mirror uuid          any                                           follow (clean replay state)
 *  <orphan>, pred X              <orphan> O with pred ~ X, then '' P with      follow from P's start
 *                                pred {<orphan>, O}                            (demoted/promoted)
 *  <orphan>, pred X              no such pair                                  split-brain
 *  '' (never owned: one tag)     any                                           follow (fresh replica)
 *  '' or another site's uuid     any                                           split-brain
 * @endverbatim
 */
import type { CommitPosition, EntryRecord, Tag, TagData } from '../../journaling/journals-service.js';

/** librbd's owner values (journaling's `LOCAL_MIRROR_UUID`, `ORPHAN_MIRROR_UUID`). */
export const LOCAL_OWNER = '';
export const ORPHAN_OWNER = '<orphan>';

/**
 * An owner (or predecessor owner) written by the peer, in this site's terms: the peer's `''`
 * is the peer's mirror uuid; our own mirror uuid is our `''` (Ceph's `Replayer::allocate_local_tag`).
 */
export function translateOwner(owner: string, localMirrorUuid: string, remoteMirrorUuid: string): string {
  if (owner === LOCAL_OWNER) return remoteMirrorUuid;
  if (owner === localMirrorUuid) return LOCAL_OWNER;
  return owner;
}

/** The local tag matching a peer's tag: same epoch boundary, owner and predecessor translated. */
export function translateTag(data: TagData, localMirrorUuid: string, remoteMirrorUuid: string): TagData {
  return {
    mirrorUuid: translateOwner(data.mirrorUuid, localMirrorUuid, remoteMirrorUuid),
    predecessor: { ...data.predecessor, mirrorUuid: translateOwner(data.predecessor.mirrorUuid, localMirrorUuid, remoteMirrorUuid) },
  };
}

/**
 * The peer's demotion is fully replayed: its journal's last tag is `<orphan>` and its
 * predecessor is the last entry this replica applied (`position[0]`).
 */
export function demotionReached(remoteTags: Tag[], position: CommitPosition): Tag | undefined {
  const last = remoteTags[remoteTags.length - 1];
  if (last?.data.mirrorUuid !== ORPHAN_OWNER) return undefined;
  const p = last.data.predecessor;
  const mine = position[0];
  if (!mine) return undefined;
  return mine.tagTid === p.tagTid && mine.entryTid === p.entryTid ? last : undefined;
}

export type TagVerdict =
  | { kind: 'follow' }
  | { kind: 'resume'; epoch: Tag }
  | { kind: 'split-brain'; why: string };

/**
 * What a non-primary local image may do with the peer's journal, from the local image's last
 * tag and the peer's tags (see the table above).
 */
export function checkTagChain(localTags: Tag[], remoteTags: Tag[], localMirrorUuid: string, remoteMirrorUuid: string): TagVerdict {
  const last = localTags[localTags.length - 1];
  if (!last) return { kind: 'follow' };
  const owner = last.data.mirrorUuid;
  if (owner === remoteMirrorUuid) return { kind: 'follow' };
  if (owner === LOCAL_OWNER && localTags.length === 1) return { kind: 'follow' };
  if (owner !== ORPHAN_OWNER) return { kind: 'split-brain', why: `local journal owner '${owner}' is neither the peer nor <orphan>` };
  const want = last.data.predecessor;
  for (const o of remoteTags) {
    if (o.data.mirrorUuid !== ORPHAN_OWNER) continue;
    const pred = o.data.predecessor;
    if (translateOwner(pred.mirrorUuid, localMirrorUuid, remoteMirrorUuid) !== want.mirrorUuid) continue;
    if (pred.tagTid !== want.tagTid || pred.entryTid !== want.entryTid) continue;
    const epoch = remoteTags.find((t) => t.tid > o.tid && t.data.mirrorUuid === LOCAL_OWNER &&
      t.data.predecessor.mirrorUuid === ORPHAN_OWNER && t.data.predecessor.tagTid === o.tid);
    if (epoch) return { kind: 'resume', epoch };
    return { kind: 'split-brain', why: `the peer's demotion matching ours (tag ${o.tid}) is not followed by its promotion` };
  }
  return { kind: 'split-brain', why: `no demotion in the peer's journal matches ours (tag ${last.tid}, predecessor ${want.tagTid}/${want.entryTid})` };
}

/**
 * Where a client that must read the peer's journal from the start of `epochTid` commits:
 * the entries before that epoch, folded one per splay offset. `undefined` when the epoch's
 * head may be gone (trimmed), so replay from there could miss writes: a full sync is needed.
 * An entry before the epoch that survived proves the epoch whole (trimming drops the oldest
 * object sets first). Without one, only an untrimmed journal (`trimmed` false: minimum set
 * 0) proves it: in a trimmed one, the first surviving entry may be the head of a later tag
 * (a client's next open) after every entry of the epoch's own tags went.
 */
export function positionBeforeEpoch(all: EntryRecord[], epochTid: number, splayWidth: number,
  advance: (pos: CommitPosition, e: EntryRecord, splayWidth: number) => CommitPosition, trimmed = false): CommitPosition | undefined {
  const sorted = [...all].sort((a, b) => a.tagTid - b.tagTid || a.entryTid - b.entryTid);
  let pos: CommitPosition = [];
  for (const e of sorted) {
    if (e.tagTid >= epochTid) {
      if (pos.length) return pos;
      return !trimmed && e.entryTid === 0 ? pos : undefined;
    }
    pos = advance(pos, e, splayWidth);
  }
  return pos.length || !trimmed ? pos : undefined;
}
