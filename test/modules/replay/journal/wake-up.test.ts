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
