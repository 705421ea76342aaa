// Batched replay applies exactly what one-by-one replay would: overlapping writes, discard
// then write, write_zeroes across an object boundary, shrink and grow within a batch,
// adjacent writes merged, a whole object discarded, hundreds of small overlapping writes.
// The patterns are played on the primary with `rbdm journal import` (exact events), once
// with the daemon replaying live, once with the daemon stopped so the whole pattern lands in
// one replay pass after a restart. The replica's export must equal the primary's (md5).
import t from 'tap';
import { join } from 'node:path';
import { exportFile, md5, mirrored, ok, POOL, startDaemon, waitFor, type TestEvent } from './support.js';

const IMAGE = `${POOL}/batch`;
const K = 1024;
const M = 1024 * K;

function bytes(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = Math.imul(seed, 2654435761) >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = (x >>> 16) & 0xff;
  }
  return b;
}

/** Journal-order-sensitive patterns on an image of `size` bytes; ends at size 12 MiB. */
function patterns(size: number, seed: number): TestEvent[] {
  const ev: TestEvent[] = [];
  let s = seed;
  // Overlapping writes: later ones win where they overlap.
  ev.push({ type: 'write', offset: 0, data: bytes(64 * K, s++) });
  ev.push({ type: 'write', offset: 32 * K, data: bytes(64 * K, s++) });
  ev.push({ type: 'write', offset: 16 * K, data: bytes(4 * K, s++) });
  // Discard, then a write inside the discarded range.
  ev.push({ type: 'write', offset: 128 * K, data: bytes(128 * K, s++) });
  ev.push({ type: 'discard', offset: 128 * K, length: 128 * K });
  ev.push({ type: 'write', offset: 192 * K, data: bytes(8 * K, s++) });
  // A write, then the opposite order: write_zeroes, then a write over part of it.
  ev.push({ type: 'write', offset: 4 * M - 8 * K, data: bytes(16 * K, s++) });
  ev.push({ type: 'write_zeroes', offset: 4 * M - 4 * K, length: 8 * K });
  ev.push({ type: 'write_zeroes', offset: 300 * K, length: 100 * K });
  ev.push({ type: 'write', offset: 350 * K, data: bytes(10 * K, s++) });
  // Adjacent sequential writes (merged by the plan) and a whole object discarded.
  for (let i = 0; i < 64; i++) ev.push({ type: 'write', offset: M + i * 16 * K, data: bytes(16 * K, s++) });
  ev.push({ type: 'discard', offset: 2 * M, length: 2 * M - 8 * K });
  // Many small overlapping writes at 2 KiB steps, a flush marker among them.
  for (let i = 0; i < 300; i++) {
    ev.push({ type: 'write', offset: 5 * M + ((i * 7919) % 128) * 2 * K, data: bytes(4 * K, s++) });
    if (i === 150) ev.push({ type: 'flush' });
  }
  // Shrink (drops data past 6 MiB, written just before), grow, write past the old end.
  ev.push({ type: 'write', offset: 6 * M - 4 * K, data: bytes(12 * K, s++) });
  ev.push({ type: 'resize', size: 6 * M, old_size: size });
  ev.push({ type: 'write', offset: 6 * M - 2 * K, data: bytes(2 * K, s++) });
  ev.push({ type: 'resize', size: 12 * M, old_size: 6 * M });
  ev.push({ type: 'write', offset: 11 * M, data: bytes(40 * K, s++) });
  ev.push({ type: 'write_zeroes', offset: 11 * M + 8 * K, length: 4 * K });
  return ev;
}

t.test('batched replay equals the primary for order-sensitive patterns, live and after a restart', async (t) => {
  const two = await mirrored(t);
  const d1 = await startDaemon(t, two);
  await ok(two.rbdm('local', ['create', IMAGE, '--size', '8M', '--image-feature', 'exclusive-lock,journaling']), 'create');
  await ok(two.rbdm('local', ['bench', IMAGE, '--io-type', 'write', '--io-size', '64K', '--io-total', '1M', '--io-pattern', 'rand']), 'bench');
  let want = await md5(two, 'local', IMAGE);
  await waitFor('bootstrap', async () => (await md5(two, 'remote', IMAGE)) === want, 120_000);

  await ok(two.rbdm('local', ['journal', 'import', exportFile(join(two.c.dir, 'p1.journal'), patterns(8 * M, 1)), IMAGE]), 'import live');
  want = await md5(two, 'local', IMAGE);
  await waitFor('live replay', async () => (await md5(two, 'remote', IMAGE)) === want);
  t.pass('replayed live: replica equals the primary');
  t.notMatch(d1.log(), /replay of .* failed/, 'no replay errors');
  t.equal(await d1.stop(), 0, 'daemon stops cleanly');

  // Stopped daemon: the next pattern lands in the primary journal unreplayed, then replays in one pass.
  await ok(two.rbdm('local', ['resize', IMAGE, '--size', '8M', '--allow-shrink']), 'shrink back');
  await ok(two.rbdm('local', ['journal', 'import', exportFile(join(two.c.dir, 'p2.journal'), patterns(8 * M, 1000)), IMAGE]), 'import while stopped');
  const before = want;
  want = await md5(two, 'local', IMAGE);
  t.not(want, before, 'the second pattern changed the primary');
  t.not(await md5(two, 'remote', IMAGE), want, 'the replica is behind while the daemon is down');
  const d2 = await startDaemon(t, two, {}, 'b');
  await waitFor('catch-up replay', async () => (await md5(two, 'remote', IMAGE)) === want);
  t.pass('caught up after a restart: replica equals the primary');
  let st = '';
  await waitFor('status: nothing behind', async () => {
    st = (await two.rbdm('remote', ['mirror', 'image', 'status', IMAGE])).stdout;
    return /"entries_behind_primary":0,/.test(st);
  }, 30_000).catch(() => undefined);
  t.match(st, /up\+replaying[\s\S]*"entries_behind_primary":0,/, 'up+replaying, nothing behind');
  t.notMatch(d2.log(), /replay of .* failed/, 'no replay errors');
  t.equal(await d2.stop(), 0, 'daemon stops cleanly');
});
