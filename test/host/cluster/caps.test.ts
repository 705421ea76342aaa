/**
 * Ceph cap strings: what each form grants, and clear errors for the ones we refuse.
 */
import t from 'tap';
import { allowsMon, allowsOsd, checkMon, checkOsd, parseCaps, type OsdPerm } from '../../../host/cluster/caps.js';

const ALL: OsdPerm[] = ['r', 'w', 'class-read', 'class-write'];

/** The osd perms `caps` grants on `pool`, in ALL's order. */
const osdPerms = (caps: Record<string, string>, pool: string) =>
  ALL.filter((p) => allowsOsd(parseCaps(caps), pool, [p]));

t.test('osd caps', async (t) => {
  t.same(osdPerms({ osd: 'allow *' }, 'any'), ALL, 'allow *');
  t.same(osdPerms({ osd: 'allow r' }, 'any'), ['r'], 'allow r');
  t.same(osdPerms({ osd: 'allow rw' }, 'any'), ['r', 'w'], 'allow rw: no class access');
  t.same(osdPerms({ osd: 'allow rwx' }, 'any'), ALL, 'allow rwx');
  t.same(osdPerms({ osd: 'allow x' }, 'any'), ['class-read', 'class-write'], 'allow x');
  t.same(osdPerms({ osd: 'profile rbd' }, 'any'), ALL, 'profile rbd');
  t.same(osdPerms({ osd: 'profile rbd-read-only' }, 'any'), ['r', 'class-read'], 'profile rbd-read-only');
  t.same(osdPerms({ osd: 'allow r pool=a' }, 'a'), ['r'], 'pool=NAME applies to that pool');
  t.same(osdPerms({ osd: 'allow r pool=a' }, 'b'), [], 'and to no other');
  t.same(osdPerms({ osd: 'allow rw pool a' }, 'a'), ['r', 'w'], "'pool NAME' form");
  t.same(osdPerms({ osd: 'allow * pool="my pool"' }, 'my pool'), ALL, 'quoted pool name');
  t.same(osdPerms({ osd: 'allow r pool="a,b", allow w pool=c' }, 'a,b'), ['r'], 'a comma inside quotes');
  t.same(osdPerms({ osd: 'profile rbd pool=a, profile rbd-read-only pool=b' }, 'b'), ['r', 'class-read'], 'comma-separated grants');
  t.same(osdPerms({ osd: 'allow r, allow w pool=a' }, 'a'), ['r', 'w'], 'grants add up');
  t.same(osdPerms({ mon: 'allow *' }, 'a'), [], 'no osd caps, no osd access');
  t.same(osdPerms({ osd: '  allow   r  ' }, 'a'), ['r'], 'spacing does not matter');
});

t.test('mon caps', async (t) => {
  const mon = (cap: string) => (['r', 'w', 'x'] as const).filter((p) => allowsMon(parseCaps({ mon: cap }), [p]));
  t.same(mon('allow *'), ['r', 'w', 'x']);
  t.same(mon('allow r'), ['r']);
  t.same(mon('allow rw'), ['r', 'w']);
  t.same(mon('allow rwx'), ['r', 'w', 'x']);
  t.same(mon('profile rbd'), ['r'], 'profile rbd reads the maps only');
  t.same(mon('profile rbd-mirror'), ['r']);
  t.same(mon('profile rbd-mirror-peer'), ['r']);
  t.same(allowsMon(parseCaps({}), ['r']), false, 'no mon cap');
});

t.test('mgr and mds caps are checked for syntax', async (t) => {
  t.doesNotThrow(() => parseCaps({ mgr: 'profile rbd pool=a', mds: 'allow rw' }));
  t.throws(() => parseCaps({ mgr: 'allow everything' }), { code: 'ERR_INVALID_ARGUMENT' });
});

t.test('bad caps are refused with a clear message', async (t) => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ osd: 'allow q' }, /^invalid osd cap 'allow q': expected 'allow \*'/],
    [{ osd: 'allow r pool=' }, /empty pool name/],
    [{ osd: 'allow r pool=a extra' }, /unexpected 'pool=a extra'/],
    [{ osd: 'profile rbd-mirror' }, /invalid osd cap/],
    [{ osd: '' }, /empty cap/],
    [{ osd: 'allow r pool="a' }, /unbalanced quotes/],
    [{ osd: 'allow r,' }, /empty grant/],
    [{ osd: 'allow wr' }, /invalid osd cap/],
    [{ mon: 'allow r pool=a' }, /invalid mon cap 'allow r pool=a': unexpected 'pool=a'/],
    [{ mon: 'profile rbd-read-only' }, /invalid mon cap/],
    [{ rgw: 'allow *' }, /^unknown cap service 'rgw'/],
    [{ osd: 5 as unknown as string }, /not a string/],
  ];
  for (const [caps, message] of cases) {
    t.throws(() => parseCaps(caps), { code: 'ERR_INVALID_ARGUMENT', errno: 'EINVAL', message }, JSON.stringify(caps));
  }
});

t.test('checks throw EACCES', async (t) => {
  const caps = parseCaps({ mon: 'profile rbd', osd: 'allow r pool=a' });
  t.doesNotThrow(() => checkOsd(caps, 'a', ['r'], 'read a/o'));
  t.throws(() => checkOsd(caps, 'a', ['w'], 'error writing a/o'), {
    code: 'ERR_PERMISSION', errno: 'EACCES', message: 'error writing a/o: (13) Permission denied',
  });
  t.doesNotThrow(() => checkMon(caps, ['r'], 'list pools'));
  t.throws(() => checkMon(caps, ['w'], "error creating pool 'p'"), { code: 'ERR_PERMISSION', message: /\(13\) Permission denied$/ });
});
