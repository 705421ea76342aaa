// Two `rbdm-mirror` daemons on the destination cluster: each image is replayed by exactly one
// of them (per-image leases), the images are spread over both, only one is the leader, and a
// SIGKILL of one hands its images to the other, which replays the writes made after the kill.
import t from 'tap';
import { imageStatus, md5, mirrored, ok, startDaemon, waitFor, POOL, type Daemon } from './daemon-support.js';

const IMAGES = ['image-1', 'image-2', 'image-3', 'image-4'];

/** gid → ids of the daemons whose log says they hold its lease now. */
function holders(daemons: Daemon[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const d of daemons) {
    const last = new Map<string, string>();
    for (const m of d.log().matchAll(/image ([0-9a-f-]{36}): lease (taken|released|lost)/g)) last.set(m[1]!, m[2]!);
    for (const [gid, what] of last) if (what === 'taken') out.set(gid, [...(out.get(gid) ?? []), d.id]);
  }
  return out;
}

t.test('two daemons on one cluster: one replays each image, SIGKILL hands over', async (t) => {
  const two = await mirrored(t);
  for (const img of IMAGES) {
    await ok(two.rbdm('local', ['create', `${POOL}/${img}`, '--size', '16M', '--image-feature', 'exclusive-lock,journaling']), `create ${img}`);
    await ok(two.rbdm('local', ['bench', `${POOL}/${img}`, '--io-type', 'write', '--io-size', '64K', '--io-total', '1M', '--io-pattern', 'rand']), `bench ${img}`);
  }
  const a = await startDaemon(t, two, 'a');
  const b = await startDaemon(t, two, 'b');
  const daemons = [a, b];

  const sums = new Map<string, string | undefined>();
  for (const img of IMAGES) sums.set(img, await md5(two, 'local', img));
  t.ok([...sums.values()].every((s) => s !== undefined), 'primaries exported');
  for (const img of IMAGES) await waitFor(`${img} synced`, async () => (await md5(two, 'remote', img)) === sums.get(img));
  t.pass('all replicas equal their primaries');

  // Spread: with both alive, each ends up with its share (2 of 4), each image with one daemon.
  const by = new Map<string, string>();
  await waitFor('images spread over both daemons, each replaying', async () => {
    for (const img of IMAGES) {
      const s = await imageStatus(two, img);
      if (!s || s.state !== 'up+replaying') return false;
      by.set(img, s.daemon);
    }
    const counts = ['a', 'b'].map((id) => [...by.values()].filter((d) => d === id).length);
    return counts[0] === 2 && counts[1] === 2;
  }).catch((e: Error) => {
    throw new Error(`${e.message}: ${JSON.stringify([...by])}\n--- a\n${a.log()}\n--- b\n${b.log()}`);
  });
  t.pass(`status records: ${JSON.stringify(Object.fromEntries(by))}`);
  const held = holders(daemons);
  t.equal(held.size, IMAGES.length, 'every image has a lease holder in the logs');
  t.ok([...held.values()].every((ids) => ids.length === 1), `exactly one holder per image: ${JSON.stringify([...held])}`);

  const pool = await two.rbdm('remote', ['mirror', 'pool', 'status', POOL, '--verbose', '--format', 'json']);
  t.equal(pool.code, 0, pool.stderr);
  const ds = (JSON.parse(pool.stdout) as { daemons: Array<{ client_id: string; leader: boolean }> }).daemons;
  t.equal(ds.length, 2, 'two daemons listed');
  t.equal(ds.filter((d) => d.leader).length, 1, `exactly one leader: ${JSON.stringify(ds)}`);

  // SIGKILL the daemon replaying image-1; write on every image; the survivor catches up all.
  const victim = by.get('image-1') === 'a' ? a : b;
  const survivor = victim === a ? b : a;
  const moved = IMAGES.filter((img) => by.get(img) === victim.id);
  victim.child.kill('SIGKILL');
  const killedAt = Date.now();
  t.equal(await victim.exited, null, `daemon ${victim.id} killed`);
  await waitFor('the survivor takes the leases', async () => holders([survivor]).size === IMAGES.length);
  t.pass(`hand-over after SIGKILL took ${((Date.now() - killedAt) / 1000).toFixed(1)} s (lease ${6} s)`);
  for (const img of IMAGES) {
    await ok(two.rbdm('local', ['bench', `${POOL}/${img}`, '--io-type', 'write', '--io-size', '4K', '--io-total', '512K', '--io-pattern', 'rand']), `bench 2 ${img}`);
    sums.set(img, await md5(two, 'local', img));
  }
  for (const img of IMAGES) {
    await waitFor(`${img} replayed after the kill`, async () => (await md5(two, 'remote', img)) === sums.get(img), 120_000).catch((e: Error) => {
      throw new Error(`${e.message}\n--- ${survivor.id}\n${survivor.log()}`);
    });
  }
  t.pass(`writes after the kill replicated; ${moved.join(', ')} moved from ${victim.id} to ${survivor.id}`);
  await waitFor('survivor writes the moved images\' status', async () => {
    for (const img of moved) {
      const s = await imageStatus(two, img);
      if (!s || s.state !== 'up+replaying' || s.daemon !== survivor.id) return false;
    }
    return true;
  });
  t.pass('status records name the survivor');
  const after = holders([survivor]);
  t.equal(after.size, IMAGES.length, 'the survivor holds every lease');
  t.notMatch(survivor.log(), /\bERROR\b|failed/, 'no errors in the survivor log');

  survivor.child.kill('SIGTERM');
  t.equal(await survivor.exited, 0, `survivor exit code (stderr: ${survivor.stderr()})`);
});
