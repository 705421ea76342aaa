// Image mode end to end: pools in `image` mode on both sites; only the image with
// `mirror image enable` is replicated, a journaled image without it is not; `mirror image
// disable` on the primary deletes the replica on the destination (image-deleter.ts).
import t from 'tap';
import { converged, md5, mirrored, ok, POOL, startDaemon, waitFor, writtenImage } from './two-sites.js';

t.test('image mode: enabled image replicated, unmirrored one not, disable → replica deleted', async (t) => {
  const two = await mirrored(t, 'image');
  const daemon = await startDaemon(t, two, 'remote');
  await writtenImage(two, 'local', 'plain');
  await writtenImage(two, 'local', 'mirrored');
  await ok(two.rbdm('local', ['mirror', 'image', 'enable', `${POOL}/mirrored`, 'journal']), 'mirror image enable');
  await converged(two, 'mirrored');
  t.pass('the enabled image is replicated');
  await ok(two.rbdm('local', ['bench', `${POOL}/mirrored`, '--io-type', 'write', '--io-size', '4K', '--io-total', '1M', '--io-pattern', 'rand']), 'bench 2');
  await converged(two, 'mirrored');
  t.pass('and replayed');

  const plain = await two.rbdm('remote', ['info', `${POOL}/plain`]);
  t.not(plain.code, 0, 'the journaled image without mirroring is not replicated');
  const ls = await ok(two.rbdm('remote', ['ls', POOL]), 'ls');
  t.same(ls.trim().split('\n'), ['mirrored'], 'only the mirrored image is on the destination');

  const primarySum = await md5(two, 'local', 'mirrored');
  await ok(two.rbdm('local', ['mirror', 'image', 'disable', `${POOL}/mirrored`]), 'mirror image disable');
  await waitFor('replica deleted', async () => (await two.rbdm('remote', ['info', `${POOL}/mirrored`])).code !== 0);
  t.pass('mirror image disable on the primary deletes the replica');
  t.equal(await md5(two, 'local', 'mirrored'), primarySum, 'the primary keeps its data');
  t.equal((await ok(two.rbdm('remote', ['ls', POOL]), 'ls')).trim(), '', 'the destination pool is empty');

  daemon.child.kill('SIGTERM');
  t.equal(await daemon.exited, 0, 'daemon exits cleanly');
});
