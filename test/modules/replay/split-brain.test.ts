// Split-brain and its recovery, one `rbdm-mirror` per cluster: `promote --force` on the replica
// while the primary is still primary leaves two primaries; both daemons report `up+error`
// "split-brain detected" and overwrite nothing. Demoting the old primary does not heal it (its
// history diverged: the forced promotion links to no demotion); `resync` there discards the
// old data and copies the new primary in full, then replays (captures 157-166).
import t from 'tap';
import { mirroredWithDaemons, ok, waitFor, type Mirrored, type Site } from './failover-sites.js';

const POOL = 'image-pool';
const IMAGE = `${POOL}/image-1`;
const bench = (m: Mirrored, site: Site, total: string) =>
  m.rbdm(site, ['bench', IMAGE, '--io-type', 'write', '--io-size', '4K', '--io-total', total, '--io-pattern', 'rand']);

t.test('forced promotion: split-brain on both daemons, demote + resync recovers', async (t) => {
  const m = await mirroredWithDaemons(t, POOL, async (two) => {
    await ok(two.rbdm('local', ['create', IMAGE, '--size', '64M', '--image-feature', 'exclusive-lock,journaling']), 'create');
    await ok(two.rbdm('local', ['bench', IMAGE, '--io-type', 'write', '--io-size', '4K', '--io-total', '4M', '--io-pattern', 'rand']), 'bench');
  });
  const first = await m.md5('local', IMAGE);
  await waitFor('remote replica identical', async () => (await m.md5('remote', IMAGE)) === first);
  await m.waitStatus('remote', IMAGE, /^up\+replaying$/, /^replaying, /);

  const forced = await m.rbdm('remote', ['mirror', 'image', 'promote', '--force', IMAGE]);
  t.equal(forced.code, 0, `promote --force on the replica: ${forced.stderr}`);
  await m.waitStatus('remote', IMAGE, /^up\+error$/, /^split-brain detected$/);
  await m.waitStatus('local', IMAGE, /^up\+error$/, /^split-brain detected$/);
  t.pass('both daemons report up+error "split-brain detected"');
  const json = JSON.parse(await ok(m.rbdm('local', ['mirror', 'image', 'status', IMAGE, '--format', 'json']), 'status json')) as { state: string; description: string };
  t.match(json, { state: 'up+error', description: 'split-brain detected' }, 'JSON status as rbd (160)');

  await ok(bench(m, 'remote', '2M'), 'bench on the force-promoted remote');
  const remoteData = await m.md5('remote', IMAGE);
  t.not(remoteData, first, 'the two primaries diverge');
  await new Promise((r) => setTimeout(r, 3000));
  t.equal(await m.md5('local', IMAGE), first, 'the old primary is not overwritten');

  await ok(m.rbdm('local', ['mirror', 'image', 'demote', IMAGE]), 'demote the old primary');
  // The daemon re-evaluates on the record change; the verdict stays split-brain.
  await waitFor('local daemon re-evaluated after the demote', async () => /split-brain detected -- skipping image replay \(no demotion/.test(m.daemons.local.log()), 60_000);
  await m.waitStatus('local', IMAGE, /^up\+error$/, /^split-brain detected$/);
  t.equal(await m.md5('local', IMAGE), first, 'demoted, diverged: still nothing overwritten');
  t.equal((await m.status('remote', IMAGE)).description, 'local image is primary', 'the new primary: local image is primary');

  const resync = await m.rbdm('local', ['mirror', 'image', 'resync', IMAGE]);
  t.equal(resync.code, 0, resync.stderr);
  t.match(resync.stdout, /Flagged image for resync from primary/);
  await waitFor('local identical to the new primary', async () => (await m.md5('local', IMAGE)) === remoteData);
  await m.waitStatus('local', IMAGE, /^up\+replaying$/, /^replaying, /);
  t.pass('resync: identical to the new primary, up+replaying');
  const info = JSON.parse(await ok(m.rbdm('local', ['info', IMAGE, '--format', 'json']), 'info')) as { mirroring: { primary: boolean } };
  t.equal(info.mirroring.primary, false);
  const rec = await m.rbdm('local', ['mirror', 'image', 'status', IMAGE]);
  t.equal(rec.code, 0);

  await ok(bench(m, 'remote', '1M'), 'bench after the resync');
  const after = await m.md5('remote', IMAGE);
  await waitFor('replay after the resync', async () => (await m.md5('local', IMAGE)) === after);
  t.pass('replay goes on after the resync');
  for (const s of ['local', 'remote'] as const) t.equal(await m.daemons[s].stop(), 0, `${s} daemon exits 0`);
});
