// Replay wakes on the primary journal's notifies, not on its safety poll: the daemon's poll
// is set to an hour, yet a write on the primary reaches the replica (identical md5). The
// bound (60 s) is generous for a loaded machine and far below the poll.
import t from 'tap';
import { md5, mirrored, ok, POOL, startDaemon, waitFor } from './support.js';

const IMAGE = `${POOL}/wake`;

t.test('a write is replayed without waiting for the poll interval', async (t) => {
  const two = await mirrored(t);
  const d = await startDaemon(t, two, { RBDM_REPLAY_POLL_MS: String(3_600_000) });
  await ok(two.rbdm('local', ['create', IMAGE, '--size', '16M', '--image-feature', 'exclusive-lock,journaling']), 'create');
  await ok(two.rbdm('local', ['bench', IMAGE, '--io-type', 'write', '--io-size', '64K', '--io-total', '1M', '--io-pattern', 'rand']), 'bench 1');
  const first = await md5(two, 'local', IMAGE);
  await waitFor('bootstrap', async () => (await md5(two, 'remote', IMAGE)) === first, 120_000);
  t.pass('replica equals the primary after bootstrap');

  for (let round = 0; round < 3; round++) {
    await ok(two.rbdm('local', ['bench', IMAGE, '--io-type', 'write', '--io-size', '4K', '--io-total', '64K', '--io-pattern', 'rand']), `bench round ${round}`);
    const want = await md5(two, 'local', IMAGE);
    await waitFor(`replay of round ${round}`, async () => (await md5(two, 'remote', IMAGE)) === want, 60_000);
    t.pass(`round ${round}: replica equals the primary with the poll an hour away`);
  }
  t.notMatch(d.log(), /replay of .* failed/, 'no replay errors');
  t.equal(await d.stop(), 0, 'daemon exits 0 on SIGTERM');
});

t.test('a restarted daemon reads past what it already applied without waiting for the poll', async (t) => {
  // The primary journal keeps ~8 MiB of applied entries in its active set: a restarted
  // cursor reads the set from its start, more than one fetch's budget (4 MiB) before the
  // first entry it has not applied.
  const two = await mirrored(t);
  const env = { RBDM_REPLAY_POLL_MS: String(3_600_000) };
  const first = await startDaemon(t, two, env, 'first');
  await ok(two.rbdm('local', ['create', IMAGE, '--size', '64M', '--image-feature', 'exclusive-lock,journaling']), 'create');
  await ok(two.rbdm('local', ['bench', IMAGE, '--io-type', 'write', '--io-size', '64K', '--io-total', '8M', '--io-pattern', 'seq']), 'bench 8 MiB');
  const before = await md5(two, 'local', IMAGE);
  await waitFor('replica caught up', async () => (await md5(two, 'remote', IMAGE)) === before, 120_000);
  t.equal(await first.stop(), 0, 'first daemon stopped');

  await ok(two.rbdm('local', ['bench', IMAGE, '--io-type', 'write', '--io-size', '4K', '--io-total', '64K', '--io-pattern', 'rand']), 'bench while stopped');
  const want = await md5(two, 'local', IMAGE);
  t.not(want, before, 'the primary changed while the daemon was down');
  const second = await startDaemon(t, two, env, 'second');
  await waitFor('replay after restart', async () => (await md5(two, 'remote', IMAGE)) === want, 60_000);
  t.pass('the restarted daemon replayed the new writes with the poll an hour away');
  t.notMatch(second.log(), /replay of .* failed/, 'no replay errors');
  t.equal(await second.stop(), 0, 'daemon exits 0 on SIGTERM');
});
