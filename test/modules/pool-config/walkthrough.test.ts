// The seed's POOL CONFIGURATION walk-through on two embedded clusters, every command replayed
// from rbd 16.2's captured outputs (same arguments) and compared with what rbd printed:
// stdout, stderr and exit code, with uuids masked and rbd's fsid site names read as the
// cluster names rbdm uses.
import t, { type Test } from 'tap';
import { normalize, reference, twoClusters, uuids, type Two } from './support.js';

/** Runs reference `n`'s command, with the capture's peer uuids swapped for ours. */
async function replay(t: Test, two: Two, ids: Map<string, string>, n: number): Promise<string> {
  const ref = reference(n);
  const args = ref.args.map((a) => ids.get(a) ?? a);
  const r = await two.replay(args);
  t.same(
    { code: r.code, stdout: normalize(r.stdout), stderr: normalize(r.stderr) },
    { code: ref.code, stdout: normalize(ref.stdout), stderr: normalize(ref.stderr) },
    `rbd ${String(n).padStart(3, '0')}: ${ref.args.slice(2).join(' ')}`,
  );
  const theirs = uuids(ref.stdout);
  const ours = uuids(r.stdout);
  theirs.forEach((u, i) => { if (ours[i] !== undefined && !ids.has(u)) ids.set(u, ours[i]!); });
  return r.stdout;
}

t.test('image-pool: enable pool mode on both, peers both ways, info, refusals, remove, disable', async (t) => {
  const two = await twoClusters(t, ['image-pool']);
  const ids = new Map<string, string>();
  for (const n of [12, 16, 13, 15, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 71, 73, 74, 75, 83]) {
    await replay(t, two, ids, n);
  }
  // 084: an unknown uuid is removed silently and nothing changes.
  const before = await two.rbdm('local', ['mirror', 'pool', 'info', 'image-pool', '--format', 'json']);
  const r = await two.rbdm('local', ['mirror', 'pool', 'peer', 'remove', 'image-pool', '00000000-0000-0000-0000-000000000000']);
  t.same([r.code, r.stdout, r.stderr], [0, '', ''], 'rbd 084: silent, exit 0');
  t.equal((await two.rbdm('local', ['mirror', 'pool', 'info', 'image-pool', '--format', 'json'])).stdout, before.stdout);

  // 202/207: refused while the peer remains. rbd's stderr is librbd's log line
  // `librbd::api::Mirror: mode_set: mirror peers still registered`; ours is its text.
  for (const n of [202, 207]) {
    const ref = reference(n);
    const d = await two.replay(ref.args);
    t.same([d.code, d.stdout, d.stderr], [ref.code, '', 'rbdm: mirror peers still registered\n'], `rbd ${n}: EBUSY`);
    t.match(ref.stderr, /mode_set: mirror peers still registered/);
  }
  await replay(t, two, ids, 193); // the local rx-tx peer (027's uuid)
  await replay(t, two, ids, 194); // again: silent
  await replay(t, two, ids, 270); // the remote's (028's uuid)
  await replay(t, two, ids, 274);
  await replay(t, two, ids, 275);
  await replay(t, two, ids, 276);
  await replay(t, two, ids, 15); // disabled again: the notice
});

t.test('image-pool2: image mode, mode switches with a peer, disable after the peers go', async (t) => {
  const two = await twoClusters(t, ['image-pool2']);
  const ids = new Map<string, string>();
  for (const n of [101, 104, 105, 106, 107, 108, 109, 110]) await replay(t, two, ids, n);
  const ref = reference(200);
  const d = await two.replay(ref.args);
  t.same([d.code, d.stderr], [16, 'rbdm: mirror peers still registered\n'], 'rbd 198/200: EBUSY while a peer remains');
  for (const n of [262, 265, 266, 267, 268]) await replay(t, two, ids, n);
});

t.test('site-pool: --site-name, as rbd 211-216 (no fsid anywhere)', async (t) => {
  const two = await twoClusters(t, ['site-pool']);
  const ids = new Map<string, string>();
  for (const n of [211, 213, 214, 215, 216]) await replay(t, two, ids, n);
  // rbd 216 is compared without masking the site names: ours equal rbd's exactly.
  const r = await two.rbdm('remote', ['mirror', 'pool', 'info', 'site-pool']);
  t.match(r.stdout, /^Mode: pool\nSite Name: remote\n\nPeer Sites: \n\nUUID: \S+\nName: local\nMirror UUID: \nDirection: rx-tx\nClient: client\.local\n$/);
});

t.test('default site names are the cluster names, not fsids (the 16.2 trap)', async (t) => {
  const two = await twoClusters(t, ['image-pool']);
  for (const cl of ['local', 'remote'] as const) {
    t.equal((await two.rbdm(cl, ['mirror', 'pool', 'enable', 'image-pool', 'pool'])).code, 0);
    const info = JSON.parse((await two.rbdm(cl, ['mirror', 'pool', 'info', 'image-pool', '--format', 'json'])).stdout);
    t.same(info, { mode: 'pool', site_name: cl, peers: [] });
  }
  // Each side's peer is named as the other side names itself: the daemon can match them.
  const lp = await two.rbdm('local', ['mirror', 'pool', 'peer', 'add', 'image-pool', 'client.remote@remote']);
  const rp = await two.rbdm('remote', ['mirror', 'pool', 'peer', 'add', 'image-pool', 'client.local@local']);
  t.same([lp.code, rp.code], [0, 0]);
  const local = JSON.parse((await two.rbdm('local', ['mirror', 'pool', 'info', 'image-pool', '--format', 'json'])).stdout);
  const remote = JSON.parse((await two.rbdm('remote', ['mirror', 'pool', 'info', 'image-pool', '--format', 'json'])).stdout);
  t.equal(local.peers[0].site_name, remote.site_name);
  t.equal(remote.peers[0].site_name, local.site_name);
});
