// Two CLI processes changing one pool's configuration at once: the guarded read-modify-write
// lets exactly one win and the loser re-validate against the winner's change.
import t from 'tap';
import { twoClusters } from './support.js';

t.test('two processes adding peers at once: exactly one wins', async (t) => {
  const two = await twoClusters(t, ['image-pool']);
  const local = (args: string[]) => two.rbdm('local', ['mirror', 'pool', ...args]);
  t.equal((await local(['enable', 'image-pool', 'pool'])).code, 0);
  for (let round = 0; round < 4; round++) {
    const [a, b] = await Promise.all([
      local(['peer', 'add', 'image-pool', 'client.remote@remote']),
      local(['peer', 'add', 'image-pool', 'client.other@other']),
    ]);
    const results = [a, b].map((r) => r.code).sort();
    t.same(results, [0, 22], `round ${round}: one success, one refusal`);
    const loser = a.code === 0 ? b : a;
    const winner = a.code === 0 ? a : b;
    t.equal(loser.stderr, 'rbdm: multiple RX peers are not currently supported\n');
    const info = JSON.parse((await local(['info', 'image-pool', '--format', 'json'])).stdout);
    t.equal(info.peers.length, 1, 'exactly one peer stored');
    t.equal(info.peers[0].uuid, winner.stdout.trim(), "the winner's uuid");
    t.equal((await local(['peer', 'remove', 'image-pool', winner.stdout.trim()])).code, 0);
  }
});

t.test('two processes enabling at once: one enables, the other finds it enabled', async (t) => {
  const two = await twoClusters(t, ['image-pool']);
  const [a, b] = await Promise.all([0, 1].map(() => two.rbdm('local', ['mirror', 'pool', 'enable', 'image-pool', 'pool'])));
  t.same([a!.code, b!.code], [0, 0]);
  t.same([a!.stdout, b!.stdout].sort(), ['', 'rbdm: mirroring is already configured for pool mode\n']);
});
