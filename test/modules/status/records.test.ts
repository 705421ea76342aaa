// Records written through the `records` service, as the replay daemon will write them: up+
// states in plain and JSON (049/050/057/252-256), per-state counts and health, verbose
// listing, heartbeats expiring to down+, peer site blocks, watch cues; reads write nothing.
import t from 'tap';
import type { HeartbeatInput, StatusEvent } from '../../../modules/status/api.js';
import { inProcess, makeReplica } from '../image-state/support.js';
import { POOL, globalIdOf, mask, rawState, reference, seeded, site, sleep } from './support.js';

t.setTimeout(300_000);

const REPLAYING = reference(57).stdout.split('\n').find((l) => l.startsWith('  description: '))!.slice('  description: '.length);
const asImage1 = (s: string): string => s.replaceAll('image-s', 'image-1');

t.test('statuses written by daemons', async (t) => {
  const two = await seeded(t);
  const local = await site(t, two, 'local');
  const remote = await site(t, two, 'remote');
  const gid = await globalIdOf(two);
  const rbdm = (cl: 'local' | 'remote', args: string[]) => two.rbdm(cl, args);
  // The replica the daemon would create (no daemon runs here), with the primary's global id.
  await makeReplica(await inProcess(t, two, 'remote'), POOL, 'image-1', gid, 'primary-site');

  const events: StatusEvent[] = [];
  const w = await local.records.watch(local.cluster, POOL, (e) => events.push(e));
  t.teardown(() => w.close());

  const hb = (instance: string, service: string, extra: Partial<HeartbeatInput> = {}): HeartbeatInput => ({
    instance_id: instance, service_id: service, entity: 'client.rbd-mirror.a', hostname: 'vm', pid: process.pid,
    version: '16.2.15', leader: true, health: 'OK', pools: [POOL], ...extra,
  });
  await local.records.writeHeartbeat(local.cluster, hb(local.cluster.instanceId, '4171'));
  await remote.records.writeHeartbeat(remote.cluster, hb(remote.cluster.instanceId, '4155'));
  const rec = await local.records.writeImageStatus(local.cluster, POOL, { global_id: gid, state: 'stopped', description: 'local image is primary', instance_id: local.cluster.instanceId });
  t.match(rec, { site_name: 'local', state: 'stopped' });
  await remote.records.writeImageStatus(remote.cluster, POOL, { global_id: gid, state: 'replaying', description: REPLAYING, instance_id: remote.cluster.instanceId });
  for (let i = 0; i < 100 && events.length < 2; i++) await sleep(20);
  t.same(events.map((e) => e.event).sort(), ['heartbeat', 'image_status_updated'], 'local writes cue local watchers');
  t.equal(events.find((e) => e.event === 'image_status_updated')?.id, gid);

  const raw = await rawState(t, two, 'local', POOL);
  const before = await raw();

  // This site up+stopped, the peer site up+replaying (252/253).
  const st = await rbdm('local', ['mirror', 'image', 'status', `${POOL}/image-1`]);
  t.equal(mask(st.stdout), mask(asImage1(reference(252).stdout)).replace(/\{"bytes_per_second".*\}/, () => REPLAYING.slice('replaying, '.length)), '252');
  const js = await rbdm('local', ['mirror', 'image', 'status', `${POOL}/image-1`, '--format', 'json']);
  const j = JSON.parse(js.stdout) as { peer_sites: Array<{ description: string }>; daemon_service: unknown };
  t.same(j.daemon_service, { service_id: '4171', instance_id: local.cluster.instanceId, daemon_id: 'a', hostname: 'vm' }, '050: daemon_service');
  t.equal(j.peer_sites[0]!.description, REPLAYING);
  const r253 = JSON.parse(mask(asImage1(reference(253).stdout))) as { peer_sites: Array<{ description: string }> };
  r253.peer_sites[0]!.description = REPLAYING;
  t.same(JSON.parse(mask(js.stdout)), r253, '253: JSON keys and order of values');
  t.equal(Object.keys(JSON.parse(js.stdout)).join(), Object.keys(JSON.parse(reference(253).stdout)).join(), 'key order');

  // The replica's view: its own up+replaying (057), the primary's site as its peer.
  const rs = await rbdm('remote', ['mirror', 'image', 'status', `${POOL}/image-1`]);
  t.equal(mask(rs.stdout).split('\n').slice(0, 6).join('\n') + '\n', mask(reference(57).stdout), '057');
  t.match(rs.stdout, /\n  peer_sites:\n    name: local\n    state: up\+stopped\n    description: local image is primary\n    last_update: \d{4}-/);

  // Pool status: 254/255/256.
  const ps = await rbdm('local', ['mirror', 'pool', 'status', POOL]);
  t.equal(ps.stdout, reference(254).stdout, '254: OK, 1 replaying');
  const pv = await rbdm('local', ['mirror', 'pool', 'status', POOL, '--verbose']);
  const r255 = mask(asImage1(reference(255).stdout)).replace(/\{"bytes_per_second".*\}/, () => REPLAYING.slice('replaying, '.length));
  t.equal(mask(pv.stdout), r255, '255: DAEMONS and IMAGES');
  const pj = JSON.parse(mask((await rbdm('local', ['mirror', 'pool', 'status', POOL, '--verbose', '--format', 'json'])).stdout)) as { images: Array<{ peer_sites: Array<{ description: string }> }> };
  const r256 = JSON.parse(mask(asImage1(reference(256).stdout))) as typeof pj;
  r256.images[0]!.peer_sites[0]!.description = REPLAYING;
  t.same(pj, r256, '256');
  t.same(await raw(), before, 'reads wrote nothing');

  // Per-state counts and health as the peer's state changes.
  const peerState = async (state: 'error' | 'syncing' | 'replaying', description: string) =>
    remote.records.writeImageStatus(remote.cluster, POOL, { global_id: gid, state, description, instance_id: remote.cluster.instanceId });
  const summary = async () => (JSON.parse((await rbdm('local', ['mirror', 'pool', 'status', POOL, '--format', 'json'])).stdout) as { summary: unknown }).summary;
  await peerState('syncing', 'bootstrapping, IMAGE_SYNC/COPY_IMAGE 37%');
  t.same(await summary(), { health: 'WARNING', daemon_health: 'OK', image_health: 'WARNING', states: { syncing: 1 } }, 'syncing warns');
  await peerState('error', 'split-brain detected');
  t.same(await summary(), { health: 'ERROR', daemon_health: 'OK', image_health: 'ERROR', states: { error: 1 } }, 'error is an error');
  const rse = await rbdm('remote', ['mirror', 'image', 'status', `${POOL}/image-1`]);
  t.match(rse.stdout, /  state: {7}up\+error\n  description: split-brain detected\n  service: {5}a on vm\n/, '159');
  await peerState('replaying', REPLAYING);

  // A second local image without status: counted unknown, and why.
  t.equal((await rbdm('local', ['create', `${POOL}/image-2`, '--size', '8M', '--image-feature', 'exclusive-lock,journaling'])).code, 0);
  const s2 = (await rbdm('local', ['mirror', 'pool', 'status', POOL])).stdout;
  t.equal(s2, 'health: WARNING\ndaemon health: OK\nimage health: WARNING\nimages: 2 total\n    1 replaying\n    1 unknown\n'
    + '    (1 unknown: no status from the rbdm-mirror daemon of site local yet)\n');

  // The local daemon's heartbeat expires: down+, daemon health ERROR, the daemon shown stale.
  await local.records.writeHeartbeat(local.cluster, hb(local.cluster.instanceId, '4171', { ttl_ms: 300 }));
  await sleep(600);
  const down = await rbdm('local', ['mirror', 'image', 'status', `${POOL}/image-1`]);
  t.match(down.stdout, /  state: {7}down\+stopped\n  description: local image is primary\n  service: {5}a on vm\n/);
  const dv = await rbdm('local', ['mirror', 'pool', 'status', POOL, '--verbose']);
  t.match(dv.stdout, /^health: ERROR\ndaemon health: ERROR\n/);
  t.match(dv.stdout, /\n  health: ERROR\n  callouts: not reporting status since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\n/);
  t.match(dv.stdout, /\n    \(1 unknown: no rbdm-mirror daemon reporting on site local\)\n/);
  // …and the peer sees the primary's site down too.
  t.match((await rbdm('remote', ['mirror', 'image', 'status', `${POOL}/image-1`])).stdout, /\n    name: local\n    state: down\+stopped\n/);

  // The peer's status removed: its block says so; a clean shutdown drops the heartbeat.
  await remote.records.removeImageStatus(remote.cluster, POOL, gid);
  await remote.records.removeImageStatus(remote.cluster, POOL, gid);
  t.match((await rbdm('local', ['mirror', 'image', 'status', `${POOL}/image-1`])).stdout, /\n    name: remote\n    state: down\+unknown\n    description: status not found\n    last_update: \n$/);
  await local.records.removeHeartbeat(local.cluster, POOL, local.cluster.instanceId);
  const gone = JSON.parse((await rbdm('local', ['mirror', 'pool', 'status', POOL, '--verbose', '--format', 'json'])).stdout) as { summary: { daemon_health: string }; daemons: unknown[] };
  t.same([gone.summary.daemon_health, gone.daemons], ['UNKNOWN', []], 'no daemon left: UNKNOWN');

  // Writers refuse a pool without mirroring.
  t.equal((await rbdm('local', ['pool', 'create', 'plain'])).code, 0);
  await t.rejects(local.records.writeImageStatus(local.cluster, 'plain', { global_id: gid, state: 'stopped', description: 'x', instance_id: '1' }), { message: /mirroring not enabled on the pool/ });
});
