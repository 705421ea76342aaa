// Peer unreachable, then back (peer-connection.ts): the daemon on `remote` loses its way to
// the peer `local` (its keyring for the peer is taken away: a fresh connection fails, as with
// a peer whose mons are down), says so (heartbeat WARNING with rbd-mirror's callout, image
// status no longer replaying), deletes nothing, reconnects by itself once the keyring is back,
// and replays what the primary took meanwhile.
import t from 'tap';
import { renameSync } from 'node:fs';
import { join } from 'node:path';
import { converged, md5, mirrored, ok, POOL, startDaemon, waitFor, writtenImage } from './two-sites.js';

t.test('peer unreachable: WARNING + callout, no replaying claim, nothing deleted; back: replay resumes, identical', async (t) => {
  const two = await mirrored(t);
  const daemon = await startDaemon(t, two, 'remote');
  await writtenImage(two, 'local', 'img');
  const before = await converged(two, 'img');

  const keyring = join(two.c.dir, 'local.client.local.keyring');
  renameSync(keyring, `${keyring}.away`);
  let restored = false;
  t.teardown(() => {
    if (!restored) renameSync(`${keyring}.away`, keyring);
  });

  const poolStatus = () => two.rbdm('remote', ['mirror', 'pool', 'status', POOL, '--verbose']);
  await waitFor('the callout', async () => /unable to connect to remote cluster/.test((await poolStatus()).stdout));
  const down = await poolStatus();
  t.match(down.stdout, /^daemon health: WARNING$/m, 'daemon health WARNING');
  t.match(down.stdout, /^ {2}health: WARNING$/m, 'the daemon reports WARNING');
  t.match(down.stdout, /^ {2}callouts: unable to connect to remote cluster$/m, "rbd-mirror's callout");
  await waitFor('image status not replaying', async () => {
    const st = await two.rbdm('remote', ['mirror', 'image', 'status', `${POOL}/img`]);
    return /state: +up\+unknown/.test(st.stdout) && /description: unable to connect to remote cluster/.test(st.stdout);
  });
  t.pass('image status: up+unknown, "unable to connect to remote cluster"');

  // The primary takes writes meanwhile; the replica stays (peer unreachable is not "record gone").
  await ok(two.rbdm('local', ['bench', `${POOL}/img`, '--io-type', 'write', '--io-size', '4K', '--io-total', '1M', '--io-pattern', 'rand']), 'bench while away');
  const after = await md5(two, 'local', 'img');
  t.not(after, before, 'the primary changed while the peer was unreachable');
  t.equal((await two.rbdm('remote', ['info', `${POOL}/img`])).code, 0, 'the replica is not deleted');
  t.match(daemon.log(), /unable to connect to remote cluster local/, 'the daemon logs why');

  renameSync(`${keyring}.away`, keyring);
  restored = true;
  await converged(two, 'img');
  t.pass('replay resumed by itself: identical again');
  await waitFor('health OK', async () => /^daemon health: OK$/m.test((await poolStatus()).stdout));
  await waitFor('up+replaying', async () => /state: +up\+replaying/.test((await two.rbdm('remote', ['mirror', 'image', 'status', `${POOL}/img`])).stdout));
  t.match(daemon.log(), /peer local reachable again/, 'the daemon logs the reconnect');

  daemon.child.kill('SIGTERM');
  t.equal(await daemon.exited, 0, 'daemon exits cleanly');
});
