// SIGKILL convergence: the daemon killed during a full sync resumes the copy from its
// recorded sync point (not from 0) and converges; killed during replay under a steady bench,
// it converges after a restart; a final distinct write pattern is replicated identically.
import t from 'tap';
import { spawn } from 'node:child_process';
import { connectCluster } from '../../../host/cluster/connect.js';
import { RBDM } from '../../harness/cli.js';
import { converged, md5, mirrored, ok, POOL, startDaemon, waitFor } from './two-sites.js';

t.test('crash: SIGKILL during full sync and during replay, restart, byte-identical', async (t) => {
  const two = await mirrored(t);
  const IMAGE = 'big';
  await ok(two.rbdm('local', ['create', `${POOL}/${IMAGE}`, '--size', '256M', '--image-feature', 'exclusive-lock,journaling']), 'create');
  // Sparse-ish: 1 MiB writes at random offsets, about half the objects touched.
  await ok(two.rbdm('local', ['bench', `${POOL}/${IMAGE}`, '--io-type', 'write', '--io-size', '1M', '--io-total', '128M', '--io-pattern', 'rand']), 'bench');

  // The sync point, read straight from the primary journal's client record (polling status
  // with the CLI is too slow to catch a sync that takes a second or two).
  const admin = await connectCluster({ clusterName: 'local', entity: 'client.admin', env: { ...process.env, ...two.c.env } });
  t.teardown(() => admin.shutdown());
  const io = await admin.ioctx(POOL);
  t.teardown(() => io.close());
  const imageId = (JSON.parse(await ok(two.rbdm('local', ['info', `${POOL}/${IMAGE}`, '--format', 'json']), 'info')) as { id: string }).id;
  const syncPoint = async (): Promise<number> => {
    const page = await io.omapGetVals(`journal.${imageId}`, { prefix: 'client_' }).catch(() => undefined);
    for (const v of page?.entries.values() ?? []) {
      const c = JSON.parse(v.toString('utf8')) as { id: string; data?: { state?: string; sync_object?: number } };
      if (c.id !== '' && c.data?.state === 'syncing') return c.data.sync_object ?? 0;
    }
    return 0;
  };

  const first = await startDaemon(t, two, 'remote', '-1');
  let recorded = 0;
  const end = Date.now() + 120_000;
  while ((recorded = await syncPoint()) === 0) {
    if (Date.now() > end) throw new Error('timed out waiting for a recorded sync point');
    await new Promise((r) => setTimeout(r, 5));
  }
  first.child.kill('SIGKILL');
  await first.exited;
  t.ok(recorded > 0 && recorded < 64, `killed during the full sync (sync point at object ${recorded} of 64)`);

  const second = await startDaemon(t, two, 'remote', '-2');
  await waitFor('resumed sync', async () => /resuming full sync at object [1-9]\d* of 64/.test(second.log()));
  const at = Number(/resuming full sync at object (\d+)/.exec(second.log())![1]);
  t.ok(at > 0, `the restarted sync resumes at object ${at}, not 0`);
  const synced = await converged(two, IMAGE);
  t.pass(`replica identical after the resumed sync (${synced})`);

  // Replay: a steady bench on the primary, the daemon killed in the middle of it.
  const bench = spawn(process.execPath, [RBDM, '--cluster', 'local', 'bench', `${POOL}/${IMAGE}`, '--io-type', 'write', '--io-size', '4K',
    '--io-total', '24M', '--io-pattern', 'rand'], { env: { ...process.env, ...two.c.env }, stdio: 'ignore' });
  const benchDone = new Promise<number | null>((res) => bench.on('exit', (code) => res(code)));
  t.teardown(() => bench.kill('SIGKILL'));
  await waitFor('replay under way', async () => (await md5(two, 'remote', IMAGE)) !== synced, 60_000);
  second.child.kill('SIGKILL');
  await second.exited;
  t.pass('killed during replay');
  const third = await startDaemon(t, two, 'remote', '-3');
  t.equal(await benchDone, 0, 'the bench finished');
  await converged(two, IMAGE);
  t.pass('replica identical after the replay restart');

  await ok(two.rbdm('local', ['bench', `${POOL}/${IMAGE}`, '--io-type', 'write', '--io-size', '64K', '--io-total', '8M', '--io-pattern', 'seq']), 'final pattern');
  const final = await converged(two, IMAGE);
  t.not(final, synced, 'the final pattern changed the image');
  t.pass('replica identical after the final distinct write pattern');
  third.child.kill('SIGTERM');
  t.equal(await third.exited, 0, 'daemon exits cleanly');
});
