// Failback after the new primary's journal trimmed past the start of its epoch: local and
// remote fail over and back once with both daemons up (so local's daemon has a client on
// remote's journal); then local's daemon stops and remote is promoted again. Remote's journal
// (small objects here) disconnects that stale client (journal_max_concurrent_object_sets) and
// trims past the new epoch's head; the tags stay (the disconnected client still names an old
// one), so local's restarted daemon links the chains but cannot position before the epoch
// (POSITION_AT_EPOCH). A copy over the old data would keep stale bytes where remote now has
// holes (a shrink and grow), so the daemon discards its replica, makes it again and
// full-syncs: byte-identical, up+replaying, later writes replayed. The first daemon is killed
// by the test hook inside the discard (RBDM_MIRROR_CRASH_AT=epoch-discard-after-disable); the
// next one knows the leftover as its own replica and goes on.
import t from 'tap';
import type { Two } from '../pool-config/support.js';
import { mirroredWithDaemons, ok, spawnSiteDaemon, waitFor, type Mirrored, type Site } from './failover-sites.js';

const POOL = 'image-pool';
const IMAGE = `${POOL}/image-1`;

const bench = (two: Two, site: Site, total: string, pattern = 'rand') =>
  two.rbdm(site, ['bench', IMAGE, '--io-type', 'write', '--io-size', '4K', '--io-total', total, '--io-pattern', pattern]);

async function imageId(m: Mirrored, site: Site): Promise<string> {
  return (JSON.parse(await ok(m.rbdm(site, ['info', IMAGE, '--format', 'json']), `info ${site}`)) as { id: string }).id;
}

async function journalSets(m: Mirrored, site: Site): Promise<{ minimum: number; active: number }> {
  const j = JSON.parse(await ok(m.rbdm(site, ['journal', 'status', IMAGE, '--format', 'json']), 'journal status')) as { minimum_set: number; active_set: number };
  return { minimum: j.minimum_set, active: j.active_set };
}

async function identical(m: Mirrored, from: Site, to: Site, log: () => string): Promise<string> {
  const want = await m.md5(from, IMAGE);
  await waitFor(`${to} identical to ${from}`, async () => (await m.md5(to, IMAGE)) === want, 180_000, () => log().slice(-4000));
  return want;
}

/** Demote `from`; once `to`'s daemon replayed the demotion, promote `to`. */
async function failOver(m: Mirrored, from: Site, to: Site): Promise<void> {
  await ok(m.rbdm(from, ['mirror', 'image', 'demote', IMAGE]), `demote ${from}`);
  await m.waitStatus(to, IMAGE, /^up\+unknown$/, /^remote image is non-primary$/);
  await ok(m.rbdm(to, ['mirror', 'image', 'promote', IMAGE]), `promote ${to}`);
}

t.test('failback after the epoch head was trimmed: the replica is made again by a full sync', async (t) => {
  const m = await mirroredWithDaemons(t, POOL, async (two) => {
    // Remote's journal (made by the remote daemon) gets 16 KiB objects, 2 a set, commits every second.
    for (const [k, v] of [['journal_order', '14'], ['journal_splay_width', '2'], ['journal_commit_age', '1']] as const) {
      await ok(two.rbdm('remote', ['mgr', 'config', 'set', `journaling/${k}`, v]), `set ${k}`);
    }
    await ok(two.rbdm('local', ['create', IMAGE, '--size', '64M', '--image-feature', 'exclusive-lock,journaling']), 'create');
    await ok(bench(two, 'local', '2M'), 'bench local');
  });
  await identical(m, 'local', 'remote', m.daemons.remote.log);

  // Round trip with both daemons up: local's daemon gets a client on remote's journal.
  await failOver(m, 'local', 'remote');
  await ok(bench(m, 'remote', '512K'), 'bench remote');
  await identical(m, 'remote', 'local', m.daemons.local.log);
  await failOver(m, 'remote', 'local');
  await ok(bench(m, 'local', '512K'), 'bench local');
  await identical(m, 'local', 'remote', m.daemons.remote.log);
  t.pass('failover and failback with both daemons: identical');
  const oldLocalId = await imageId(m, 'local');

  // Local's daemon down; remote promoted again and written, its stale client dropped.
  t.equal(await m.daemons.local.stop(), 0, 'local daemon stopped');
  await failOver(m, 'local', 'remote');
  const atPromotion = await journalSets(m, 'remote');
  await ok(m.rbdm('remote', ['mgr', 'config', 'set', 'journaling/journal_max_concurrent_object_sets', '4']), 'max sets');
  // Holes where local still has data (shrink, grow), then enough writes to trim past the epoch's start.
  await ok(m.rbdm('remote', ['resize', IMAGE, '--size', '32M', '--allow-shrink', '--no-progress']), 'shrink');
  await ok(m.rbdm('remote', ['resize', IMAGE, '--size', '64M', '--no-progress']), 'grow');
  await ok(bench(m, 'remote', '2M'), 'bench remote');
  let sets = atPromotion;
  await waitFor('the new primary trimmed past its epoch head', async () => {
    sets = await journalSets(m, 'remote');
    return sets.minimum >= atPromotion.active + 2;
  }, 60_000, () => `journal sets at promotion ${JSON.stringify(atPromotion)}, now ${JSON.stringify(sets)}`);
  t.pass(`remote journal trimmed: minimum set ${sets.minimum} > active set at promotion ${atPromotion.active}`);
  const status = await ok(m.rbdm('remote', ['journal', 'status', IMAGE]), 'journal status');
  t.match(status, /state=disconnected/, 'local\'s stale client on remote\'s journal was disconnected');
  // Back to the default (never disconnect): with 16 KiB objects a replaying daemon is often
  // more than 4 sets behind during a burst.
  await ok(m.rbdm('remote', ['mgr', 'config', 'set', 'journaling/journal_max_concurrent_object_sets', '0']), 'max sets 0');

  // First killed by the test hook inside the discard (record gone, image not), then restarted.
  const crashing = await spawnSiteDaemon(t, m, 'local', '-crash', { RBDM_MIRROR_CRASH_AT: 'epoch-discard-after-disable' });
  let timer: NodeJS.Timeout | undefined;
  const signal = await Promise.race([crashing.exited, new Promise<never>((_, rej) => (timer = setTimeout(() => rej(new Error(`no crash\n${crashing.log()}`)), 120_000)))])
    .finally(() => clearTimeout(timer));
  t.equal(signal, 'SIGKILL', 'killed by the hook in the discard');
  t.match(crashing.log(), /the start of the peer's epoch was trimmed from its journal: discarding replica/, 'the daemon found the epoch head trimmed');
  t.not((await m.rbdm('local', ['mirror', 'image', 'status', IMAGE])).code, 0, 'the replica is left without a mirror record');
  t.equal(await imageId(m, 'local'), oldLocalId, 'and still there');

  const local = await spawnSiteDaemon(t, m, 'local', '-late');
  const want = await identical(m, 'remote', 'local', local.log);
  t.pass('local replica identical to the new primary');
  t.match(local.log(), /this daemon's replica left without a mirror record by a crash/, 'the restarted daemon removed the leftover');
  t.match(local.log(), /full sync from the peer/, 'and full-synced');
  t.not(await imageId(m, 'local'), oldLocalId, 'the local replica was made again');
  await m.waitStatus('local', IMAGE, /^up\+replaying$/, /^replaying, /);
  const info = JSON.parse(await ok(m.rbdm('local', ['info', IMAGE, '--format', 'json']), 'info')) as { mirroring: { primary: boolean } };
  t.equal(info.mirroring.primary, false, 'local is non-primary');
  t.notMatch(await ok(m.rbdm('remote', ['journal', 'status', IMAGE]), 'journal status'), /disconnected/, 'its client on remote\'s journal is connected again');

  await ok(bench(m, 'remote', '1M', 'seq'), 'bench remote again');
  const after = await identical(m, 'remote', 'local', local.log);
  t.not(after, want, 'the new writes changed the primary');
  t.pass('writes after the sync are replayed, identical');
  t.notMatch(local.log(), /split-brain/, 'no split-brain');
  t.equal(await local.stop(), 0, 'local daemon exits 0');
  t.equal(await m.daemons.remote.stop(), 0, 'remote daemon exits 0');
});
