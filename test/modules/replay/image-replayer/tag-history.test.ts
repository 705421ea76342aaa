// Tag chains (tag-history.ts): owner translation, a consumed demotion, the failover link and
// split-brain verdicts, the start of a new epoch; and the pool replayer's restart rule.
import t from 'tap';
import { checkTagChain, demotionReached, positionBeforeEpoch, translateOwner, translateTag } from '../../../../modules/replay/image-replayer/tag-history.js';
import { advance } from '../../../../modules/replay/image-replayer/journal/replayer.js';
import { needsRestart } from '../../../../modules/replay/pool-replayer.js';

const UL = 'uuid-local';
const UR = 'uuid-remote';
const tag = (tid: number, owner: string, pred: [string, number, number] = ['', 0, 0]) =>
  ({ tid, tagClass: 0, data: { mirrorUuid: owner, predecessor: { mirrorUuid: pred[0], commitValid: true, tagTid: pred[1], entryTid: pred[2] } } });

t.test('translateOwner / translateTag: the peer\'s words in ours', async (t) => {
  t.equal(translateOwner('', UL, UR), UR, "the peer's '' is the peer");
  t.equal(translateOwner(UL, UL, UR), '', 'our own uuid is our ""');
  t.equal(translateOwner('<orphan>', UL, UR), '<orphan>');
  t.same(translateTag(tag(5, '<orphan>', ['', 4, 7]).data, UL, UR), tag(0, '<orphan>', [UR, 4, 7]).data);
});

t.test('demotionReached: the orphan tag must follow exactly what was applied', async (t) => {
  const tags = [tag(0, ''), tag(1, ''), tag(2, '<orphan>', ['', 1, 9])];
  t.equal(demotionReached(tags, [{ objectNumber: 1, tagTid: 1, entryTid: 9 }])?.tid, 2);
  t.equal(demotionReached(tags, [{ objectNumber: 1, tagTid: 1, entryTid: 8 }]), undefined, 'one entry short');
  t.equal(demotionReached(tags, []), undefined, 'nothing applied');
  t.equal(demotionReached(tags.slice(0, 2), [{ objectNumber: 1, tagTid: 1, entryTid: 9 }]), undefined, 'not demoted');
});

t.test('checkTagChain', async (t) => {
  t.same(checkTagChain([], [tag(0, '')], UL, UR), { kind: 'follow' }, 'no local journal yet');
  t.same(checkTagChain([tag(0, ''), tag(1, UR)], [tag(0, '')], UL, UR), { kind: 'follow' }, 'following the peer');
  t.same(checkTagChain([tag(0, '')], [tag(0, '')], UL, UR), { kind: 'follow' }, 'fresh replica journal');
  // We demoted at (3, 0); the peer replayed it (its orphan names our uuid), then promoted.
  const local = [tag(0, ''), tag(3, ''), tag(4, '<orphan>', ['', 3, 0])];
  const peer = [tag(0, ''), tag(1, UL), tag(2, '<orphan>', [UL, 3, 0]), tag(3, '', ['<orphan>', 2, 0]), tag(4, '', ['', 3, 0])];
  const v = checkTagChain(local, peer, UL, UR);
  t.equal(v.kind, 'resume');
  t.equal(v.kind === 'resume' ? v.epoch.tid : -1, 3, 'follow from the promotion epoch');
  t.equal(checkTagChain(local, peer.slice(0, 3), UL, UR).kind, 'split-brain', 'demotion replayed but no promotion');
  t.equal(checkTagChain([tag(0, ''), tag(3, ''), tag(5, '<orphan>', ['', 3, 8])], peer, UL, UR).kind, 'split-brain', 'our epoch went on after the point the peer names');
  const forced = [tag(0, ''), tag(1, UL), tag(2, '', [UL, 1, 40])];
  t.equal(checkTagChain(local, forced, UL, UR).kind, 'split-brain', 'a forced promotion links to no demotion');
  t.equal(checkTagChain([tag(0, ''), tag(1, '')], peer, UL, UR).kind, 'split-brain', 'the local journal says primary');
  t.equal(checkTagChain([tag(0, ''), tag(1, 'uuid-other')], peer, UL, UR).kind, 'split-brain', "another site's replica");
  // The peer demoted itself (we replayed it: our orphan names the peer), then promoted again.
  const mine = [tag(0, ''), tag(1, UR), tag(2, '<orphan>', [UR, 6, 2])];
  const theirs = [tag(6, ''), tag(7, '<orphan>', ['', 6, 2]), tag(8, '', ['<orphan>', 7, 0])];
  t.match(checkTagChain(mine, theirs, UL, UR), { kind: 'resume', epoch: { tid: 8 } });
});

t.test('positionBeforeEpoch', async (t) => {
  const e = (tagTid: number, entryTid: number, objectNumber: number) => ({ tagTid, entryTid, objectNumber, offset: 0, size: 0, event: { type: 'write' } });
  const adv = (p: Parameters<typeof advance>[0], x: { objectNumber: number; tagTid: number; entryTid: number }, w: number) =>
    advance(p, { objectNumber: x.objectNumber, tagTid: x.tagTid, entryTid: x.entryTid }, w);
  t.same(positionBeforeEpoch([e(2, 0, 0), e(2, 1, 1), e(3, 0, 2), e(4, 0, 3)], 4, 4, adv),
    [{ objectNumber: 2, tagTid: 3, entryTid: 0 }, { objectNumber: 1, tagTid: 2, entryTid: 1 }, { objectNumber: 0, tagTid: 2, entryTid: 0 }]);
  t.same(positionBeforeEpoch([e(4, 0, 0)], 4, 4, adv), [], 'nothing before the epoch: read from the start');
  t.equal(positionBeforeEpoch([e(4, 7, 0)], 4, 4, adv), undefined, "the epoch's head was trimmed: full sync");
  t.same(positionBeforeEpoch([], 4, 4, adv), []);
  // Trimmed journals: only an entry before the epoch proves its head is still there.
  t.same(positionBeforeEpoch([e(3, 5, 8), e(5, 0, 9)], 4, 4, adv, true), [{ objectNumber: 8, tagTid: 3, entryTid: 5 }], 'trimmed, an entry before the epoch survived');
  t.equal(positionBeforeEpoch([e(4, 0, 8)], 4, 4, adv, true), undefined, 'trimmed: an entry 0 at the epoch may follow trimmed tags');
  t.equal(positionBeforeEpoch([e(6, 0, 8), e(6, 1, 9)], 4, 4, adv, true), undefined, 'trimmed: the head of a later tag, tags 4 and 5 possibly gone');
  t.equal(positionBeforeEpoch([], 4, 4, adv, true), undefined, 'trimmed and empty');
  t.same(positionBeforeEpoch([e(6, 0, 0)], 4, 4, adv, false), [], 'untrimmed: every entry is there (empty tags 4 and 5)');
});

t.test('needsRestart', async (t) => {
  const r = (localPrimary: boolean, resync: boolean, peerPrimary: boolean) => ({ localPrimary, resync, peerPrimary });
  t.equal(needsRestart(r(false, false, true), r(false, false, false), true), false, 'a running replayer consumes the demotion itself');
  t.equal(needsRestart(r(false, false, true), r(false, false, false), false), true);
  t.equal(needsRestart(r(false, false, false), r(false, false, true), false), true, 'peer promoted');
  t.equal(needsRestart(r(false, false, true), r(true, false, true), true), true, 'promoted here');
  t.equal(needsRestart(r(false, false, true), r(false, true, true), true), true, 'resync requested');
  t.equal(needsRestart(r(false, true, true), r(false, false, true), true), false, 'the flag gone with the old record');
});
