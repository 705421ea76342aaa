// Every bad input of `mirror pool ...`: rbd's wording after `rbdm: `, rbd's exit code, nothing
// on stdout, and nothing written: the raw rbd_mirroring object (version, omap) after each case,
// `mirror pool info` plain --all and JSON after all of them.
import t from 'tap';
import { rawState, snapshot, twoClusters } from './support.js';

const ZERO = '00000000-0000-0000-0000-000000000000';

t.test('refusals leave the configuration untouched', async (t) => {
  const two = await twoClusters(t, ['image-pool', 'off-pool']);
  const local = (args: string[]) => two.rbdm('local', ['mirror', 'pool', ...args]);
  t.equal((await local(['enable', 'image-pool', 'pool'])).code, 0);
  const add = await local(['peer', 'add', 'image-pool', 'client.remote@remote']);
  t.equal(add.code, 0);
  const peer = add.stdout.trim();

  const cases: Array<[string[], number, string]> = [
    [['enable', 'image-pool', 'bogus'], 22, "must specify 'image' or 'pool' mode."],
    [['enable', 'image-pool'], 22, "must specify 'image' or 'pool' mode."],
    [['enable', 'no-such-pool', 'bogus'], 22, "must specify 'image' or 'pool' mode."], // mode first, as rbd
    [['enable', 'no-such-pool', 'pool'], 2, "error opening pool 'no-such-pool': (2) No such file or directory"],
    [['disable', 'no-such-pool'], 2, "error opening pool 'no-such-pool': (2) No such file or directory"],
    [['disable', 'image-pool'], 16, 'mirror peers still registered'],
    [['info', 'no-such-pool'], 2, "error opening pool 'no-such-pool': (2) No such file or directory"],
    [['peer', 'add', 'image-pool', 'remote@'], 22, "invalid spec 'remote@'"],
    [['peer', 'add', 'image-pool', '@remote'], 22, "invalid spec '@remote'"],
    [['peer', 'add', 'image-pool', 'client.remote@'], 22, "invalid spec 'client.remote@'"],
    [['peer', 'add', 'image-pool', 'foo@bar@baz'], 22, "invalid spec 'foo@bar@baz'"],
    [['peer', 'add', 'image-pool', 'admin@remote'], 22, "invalid spec 'admin@remote'"],
    [['peer', 'add', 'image-pool', 'client.x@a/b'], 22, "invalid spec 'client.x@a/b'"],
    [['peer', 'add', 'image-pool'], 22, 'remote cluster was not specified'],
    [['peer', 'add', 'no-such-pool', 'client.remote@remote'], 2, "error opening pool 'no-such-pool': (2) No such file or directory"],
    [['peer', 'add', 'image-pool', 'client.x@nosuchcluster'], 22, 'multiple RX peers are not currently supported'],
    [['peer', 'add', 'image-pool', 'client.remote@remote'], 22, 'multiple RX peers are not currently supported'],
    [['peer', 'remove', 'image-pool'], 22, 'must specify peer uuid'],
    [['peer', 'remove', 'image-pool', 'nope'], 22, "invalid uuid 'nope'"],
    [['peer', 'remove', 'no-such-pool', ZERO], 2, "error opening pool 'no-such-pool': (2) No such file or directory"],
    [['peer', 'set', 'image-pool'], 22, 'must specify peer uuid'],
    [['peer', 'set', 'image-pool', peer, 'bogus', 'x'], 22, "must specify 'client', 'cluster', 'direction', 'site-name' key."],
    [['peer', 'set', 'image-pool', peer, 'client'], 22, 'must specify new client value.'],
    [['peer', 'set', 'image-pool', peer, 'cluster'], 22, 'must specify new cluster value.'],
    [['peer', 'set', 'image-pool', peer, 'direction', 'sideways'], 22, 'invalid direction'],
    [['peer', 'set', 'image-pool', peer, 'cluster', 'local'], 22, 'cannot set self as remote peer'],
    [['peer', 'set', 'image-pool', ZERO, 'client', 'client.x'], 2, `mirror peer ${ZERO} does not exist`],
  ];
  const before = await snapshot(two, 'local', 'image-pool');
  t.match(before, /Name: remote\n/);
  const raw = await rawState(t, two, 'local', 'image-pool');
  const rawBefore = await raw();
  for (const [args, code, message] of cases) {
    const r = await local(args);
    t.same([r.code, r.stdout, r.stderr], [code, '', `rbdm: ${message}\n`], args.join(' '));
    // The raw object after each case (fast, and it sees any write); both info layouts at the end.
    t.equal(await raw(), rawBefore, `${args.join(' ')}: nothing written`);
  }
  t.equal(await snapshot(two, 'local', 'image-pool'), before, 'plain and JSON identical after all refusals');

  // On a pool whose mirroring is disabled (013 and rbd's validate_mirroring_enabled()).
  const off = await snapshot(two, 'local', 'off-pool');
  const rawOff = await rawState(t, two, 'local', 'off-pool');
  t.equal(await rawOff(), 'absent', 'never enabled: no object');
  for (const args of [
    ['peer', 'add', 'off-pool', 'client.remote@remote'],
    ['peer', 'remove', 'off-pool', ZERO],
    ['peer', 'set', 'off-pool', ZERO, 'client', 'client.x'],
  ]) {
    const r = await local(args);
    t.same([r.code, r.stdout, r.stderr], [22, '', 'rbdm: mirroring not enabled on the pool\n'], args.join(' '));
  }
  t.equal(await snapshot(two, 'local', 'off-pool'), off);
  t.equal(await rawOff(), 'absent', 'still no object');
  t.equal(off, '0\nMode: disabled\n{"mode":"disabled"}\n');
});

t.test('a peer naming this cluster is refused', async (t) => {
  const two = await twoClusters(t, ['image-pool']);
  await two.rbdm('local', ['mirror', 'pool', 'enable', 'image-pool', 'image', '--site-name', 'site-a']);
  const before = await snapshot(two, 'local', 'image-pool');
  for (const spec of ['client.local@local', 'site-a']) {
    const r = await two.rbdm('local', ['mirror', 'pool', 'peer', 'add', 'image-pool', spec]);
    t.same([r.code, r.stderr], [22, 'rbdm: cannot add self as remote peer; error adding mirror peer\n'], spec);
  }
  t.equal(await snapshot(two, 'local', 'image-pool'), before);
});

t.test('peer set changes one field; a missing client defaults to the caller', async (t) => {
  const two = await twoClusters(t, ['image-pool']);
  const local = (args: string[]) => two.rbdm('local', ['mirror', 'pool', ...args]);
  await local(['enable', 'image-pool', 'pool']);
  const uuid = (await local(['peer', 'add', 'image-pool', 'remote'])).stdout.trim();
  const info = async () => JSON.parse((await local(['info', 'image-pool', '--format', 'json'])).stdout).peers[0];
  t.same(await info(), { uuid, direction: 'rx-tx', site_name: 'remote', mirror_uuid: '', client_name: 'client.admin' }, "rbd's default: the caller's own name");
  t.same((await local(['peer', 'set', 'image-pool', uuid, 'client', 'client.remote'])).code, 0);
  t.same((await local(['peer', 'set', 'image-pool', uuid, 'cluster', 'far'])).code, 0);
  t.same((await local(['peer', 'set', 'image-pool', uuid, 'direction', 'rx-only'])).code, 0);
  t.same(await info(), { uuid, direction: 'rx-only', site_name: 'far', mirror_uuid: '', client_name: 'client.remote' });
  // rx-only without a known mirror uuid: rbd leaves the Mirror UUID line out.
  const plain = await local(['info', 'image-pool']);
  t.equal(plain.stdout, `Mode: pool\nSite Name: local\n\nPeer Sites: \n\nUUID: ${uuid}\nName: far\nDirection: rx-only\nClient: client.remote\n`);
  t.same((await local(['peer', 'set', 'image-pool', uuid, 'site-name', 'remote'])).code, 0);
  t.equal((await info()).site_name, 'remote');
});
