// Full sync copies only the non-zero runs of each object: holes stay holes.
import t from 'tap';
import { advanceLowWater, dataObjectName, nonZeroRuns } from '../../../../modules/replay/image-replayer/full-sync-request.js';

t.test('nonZeroRuns: 4 KiB granularity, coalesced, tail kept', async (t) => {
  t.same(nonZeroRuns(new Uint8Array(16384)), [], 'all zero: nothing to write');
  const buf = new Uint8Array(20000);
  buf[5] = 1; // block 0
  buf[4096 + 100] = 2; // block 1, joins block 0
  buf[2 * 4096] = 0; // block 2 stays a hole
  buf[3 * 4096] = 3; // block 3
  buf[19999] = 4; // the short tail block, joins block 3
  t.same(nonZeroRuns(buf), [[0, 8192], [12288, 7712]]);
  buf[3 * 4096] = 0;
  t.same(nonZeroRuns(buf), [[0, 8192], [16384, 3616]], 'a non-zero tail alone');
  t.same(nonZeroRuns(new Uint8Array([0, 0, 7])), [[0, 3]], 'a buffer shorter than a block');
});

t.test('advanceLowWater: the resume point only passes objects all copied below it', async (t) => {
  const done = new Set([1, 2, 4]);
  t.equal(advanceLowWater(0, done), 0, 'object 0 still copying: stays');
  done.add(0);
  t.equal(advanceLowWater(0, done), 3, '0..2 copied: resume at 3');
  t.same([...done], [4], 'counted objects leave the set');
  done.add(3);
  t.equal(advanceLowWater(3, done), 5);
});

t.test('dataObjectName: rbd striper names', async (t) => {
  t.equal(dataObjectName('rbd_data.abc', 0), 'rbd_data.abc.0000000000000000');
  t.equal(dataObjectName('rbd_data.abc', 255), 'rbd_data.abc.00000000000000ff');
});
