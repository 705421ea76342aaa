// The world of this issue: no rbdm-mirror runs. Statuses must say so (036, 043, 246), errors
// as rbd's (072, 076, 112, 278, 279), and reading status writes nothing.
import t from 'tap';
import { POOL, mask, rawState, reference, seeded } from './support.js';

t.setTimeout(300_000);

t.test('mirror status without any daemon', async (t) => {
  const two = await seeded(t);
  const rbdm = (args: string[]) => two.rbdm('local', args);
  const raw = await rawState(t, two, 'local', POOL);
  const before = await raw();

  // 036 has no image yet; rbdm's pool has image-1, so compare on a second, empty pool.
  for (const cl of ['local', 'remote'] as const) {
    t.equal((await two.rbdm(cl, ['pool', 'create', 'empty'])).code, 0);
    t.equal((await two.rbdm(cl, ['mirror', 'pool', 'enable', 'empty', 'pool'])).code, 0);
  }
  const empty = await rbdm(['mirror', 'pool', 'status', 'empty']);
  const r036 = reference(36);
  t.same([empty.code, empty.stdout], [r036.code, r036.stdout], '036: UNKNOWN daemon health, 0 images');

  // 043's lines, then the peer site as 246 shows it (rbdm can see the peer, 16.2 could not).
  const st = await rbdm(['mirror', 'image', 'status', `${POOL}/image-1`]);
  t.equal(st.code, 0);
  const lines = mask(st.stdout).split('\n');
  t.same(lines.slice(0, 5).join('\n') + '\n', mask(reference(43).stdout), '043: down+unknown, status not found');
  const r246 = mask(reference(246).stdout).replace('image-s', 'image-1');
  t.equal(mask(st.stdout), r246, '246: the peer site, reachable, has no status either');
  const js = await rbdm(['mirror', 'image', 'status', `${POOL}/image-1`, '--format', 'json']);
  t.equal(mask(js.stdout), mask(reference(247).stdout).replace('image-s', 'image-1'), '247: JSON');

  // Pool status: unknown, and why (rbd 16.2 printed "1 unknown" and nothing else).
  const ps = await rbdm(['mirror', 'pool', 'status', POOL]);
  t.equal(ps.stdout, 'health: WARNING\ndaemon health: UNKNOWN\nimage health: WARNING\nimages: 1 total\n    1 unknown\n'
    + '    (1 unknown: no rbdm-mirror daemon reporting on site local)\n');
  const pj = JSON.parse((await rbdm(['mirror', 'pool', 'status', POOL, '--format', 'json'])).stdout);
  t.same(pj, { summary: { health: 'WARNING', daemon_health: 'UNKNOWN', image_health: 'WARNING', states: { unknown: 1 },
    unknown_reasons: { 'no rbdm-mirror daemon reporting on site local': 1 } } });
  const pv = await rbdm(['mirror', 'pool', 'status', POOL, '--verbose']);
  t.match(pv.stdout, /\nDAEMONS\n  none: no rbdm-mirror daemon has reported to this pool\n\n\nIMAGES\nimage-1:\n  global_id: {3}\S+\n  state: {7}down\+unknown\n/);

  // An unreachable peer: what is known is shown, and why the rest is not.
  const fs = await import('node:fs');
  fs.renameSync(`${two.c.dir}/remote.conf`, `${two.c.dir}/remote.conf.away`);
  const away = await rbdm(['mirror', 'image', 'status', `${POOL}/image-1`]);
  fs.renameSync(`${two.c.dir}/remote.conf.away`, `${two.c.dir}/remote.conf`);
  t.equal(away.code, 0);
  t.match(away.stdout, /\n    name: remote\n    state: down\+unknown\n    description: status unknown: peer site remote unreachable \(.+\)\n    last_update: \n$/);

  // Errors, with rbd's words and exit codes.
  const cases: Array<[number, string[]]> = [
    [72, ['mirror', 'pool', 'status', 'no-such-pool']],
    [76, ['mirror', 'image', 'status', `${POOL}/no-such-image`]],
  ];
  for (const [n, args] of cases) {
    const r = await rbdm(args);
    const ref = reference(n);
    t.same([r.code, mask(r.stderr), r.stdout], [ref.code, mask(ref.stderr), ref.stdout], `${n}`);
  }
  t.same(await raw(), before, 'reads wrote nothing to rbd_mirroring');

  // 112: an image-mode pool with an image that is not enabled.
  t.equal((await rbdm(['pool', 'create', 'image-pool2'])).code, 0);
  t.equal((await rbdm(['mirror', 'pool', 'enable', 'image-pool2', 'image'])).code, 0);
  t.equal((await rbdm(['create', 'image-pool2/image-3', '--size', '8M', '--image-feature', 'exclusive-lock'])).code, 0);
  const r112 = await rbdm(['mirror', 'image', 'status', 'image-pool2/image-3']);
  t.same([r112.code, mask(r112.stderr)], [reference(112).code, mask(reference(112).stderr)], '112');

  // 278/279: after mirroring is disabled on the pool.
  const info = JSON.parse((await rbdm(['mirror', 'pool', 'info', POOL, '--format', 'json'])).stdout) as { peers: Array<{ uuid: string }> };
  for (const p of info.peers) t.equal((await rbdm(['mirror', 'pool', 'peer', 'remove', POOL, p.uuid])).code, 0, 'peer removed');
  const dis = await rbdm(['mirror', 'pool', 'disable', POOL]);
  t.equal(dis.code, 0, dis.stderr);
  const r278 = await rbdm(['mirror', 'image', 'status', `${POOL}/image-1`]);
  t.same([r278.code, mask(r278.stderr), r278.stdout], [reference(278).code, mask(reference(278).stderr), ''], '278');
  const r279 = await rbdm(['mirror', 'pool', 'status', POOL]);
  t.same([r279.code, mask(r279.stderr), r279.stdout], [reference(279).code, mask(reference(279).stderr), ''], '279');
});
