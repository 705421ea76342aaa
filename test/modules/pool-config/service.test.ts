// The `mirroring` service as another module (the replay daemon) uses it, in-process, against
// clusters made and changed by the real CLI: the on-store format, watches notified by other
// processes, peer connections through the conf directory, and mode hooks.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { Host } from '../../../host/runtime/host.js';
import type { Cluster, ModuleContext } from '../../../host/index.js';
import type { MirroringEvent, PoolMirroringService } from '../../../modules/pool-config/api.js';
import { mirroringService } from '../../../modules/pool-config/service.js';
import { twoClusters, type Two } from './support.js';

/** The service bound to a real Host of cluster `local`, the way the host builds it for a module. */
async function service(t: { teardown(fn: () => unknown): void }, two: Two): Promise<{ svc: PoolMirroringService; cluster: Cluster; emitted: string[] }> {
  const host = new Host({ clusterName: 'local', entity: 'client.admin', env: two.c.env });
  await host.init();
  t.teardown(() => host.shutdown());
  const emitted: string[] = [];
  const ctx = {
    name: 'pool-config',
    conf: host.confView,
    log: host.log,
    cluster: () => host.cluster(),
    connectCluster: (c: string, e?: string) => host.connectTo(c, e ?? 'client.admin'),
    emit: (type: string, id: string) => void emitted.push(`${type}:${id}`),
  } as unknown as ModuleContext;
  return { svc: mirroringService(ctx), cluster: await host.cluster(), emitted };
}

function waitFor(events: MirroringEvent[], pred: (e: MirroringEvent) => boolean, ms = 5000): Promise<MirroringEvent> {
  return new Promise((resolve, reject) => {
    const start = Date.now();
    const tick = () => {
      const hit = events.find(pred);
      if (hit) return resolve(hit);
      if (Date.now() - start > ms) return reject(new Error(`no matching event in ${ms} ms: ${JSON.stringify(events)}`));
      setTimeout(tick, 20);
    };
    tick();
  });
}

t.test('a watcher hears every change made by another process', async (t) => {
  const two = await twoClusters(t, ['image-pool']);
  const { svc, cluster } = await service(t, two);
  const events: MirroringEvent[] = [];
  // Watching a pool whose mirroring was never enabled works (the object is created empty).
  const handle = await svc.watchPoolMirroring(cluster, 'image-pool', (e) => events.push(e));
  t.teardown(() => handle.close());
  const cli = (args: string[]) => two.rbdm('local', ['mirror', 'pool', ...args]);
  await cli(['enable', 'image-pool', 'image']);
  t.same(await waitFor(events, (e) => e.event === 'mode_updated'), { event: 'mode_updated', pool: 'image-pool', mode: 'image' });
  const uuid = (await cli(['peer', 'add', 'image-pool', 'client.remote@remote'])).stdout.trim();
  await waitFor(events, (e) => e.event === 'peers_updated');
  await cli(['enable', 'image-pool', 'image', '--site-name', 'east']);
  t.same(await waitFor(events, (e) => e.event === 'site_updated'), { event: 'site_updated', pool: 'image-pool', mode: 'image' });
  const n = events.length;
  await cli(['enable', 'image-pool', 'image']); // no change: no notify
  await cli(['peer', 'remove', 'image-pool', '00000000-0000-0000-0000-000000000000']);
  await cli(['peer', 'remove', 'image-pool', uuid]);
  await cli(['disable', 'image-pool']);
  await waitFor(events, (e) => e.mode === 'disabled');
  t.same(events.slice(n).map((e) => `${e.event}/${e.mode}`), ['peers_updated/image', 'mode_updated/disabled'], 'only real changes notify');
  const m = await svc.getPoolMirroring(cluster, 'image-pool');
  t.same(m, { pool: 'image-pool', mode: 'disabled', site_name: '', mirror_uuid: '', peers: [] });
});

t.test('on-store format, the service view, and connecting to a peer', async (t) => {
  const two = await twoClusters(t, ['image-pool']);
  const { svc, cluster, emitted } = await service(t, two);
  const r = await svc.setPoolMode(cluster, 'image-pool', 'pool');
  t.same(r, { previous: 'disabled', mode: 'pool', siteNameChanged: false });
  const uuid = await svc.addPeer(cluster, 'image-pool', { site_name: 'remote', client_name: 'client.remote' });
  t.same(emitted, ['mirror_pool_changed:image-pool', 'mirror_pool_changed:image-pool']);
  const io = await cluster.ioctx('image-pool');
  t.teardown(() => io.close());
  const omap = (await io.omapGetVals('rbd_mirroring')).entries;
  t.same([...omap.keys()].sort(), ['mirror_config_gen', 'mirror_mode', `mirror_peer_${uuid}`, 'mirror_uuid', 'site_name']);
  t.equal(omap.get('mirror_mode')!.toString(), 'pool');
  t.equal(omap.get('site_name')!.toString(), 'local');
  t.match(omap.get('mirror_uuid')!.toString(), /^[0-9a-f-]{36}$/);
  t.same(JSON.parse(omap.get(`mirror_peer_${uuid}`)!.toString()), { uuid, direction: 'rx-tx', site_name: 'remote', mirror_uuid: '', client_name: 'client.remote' });
  const m = await svc.getPoolMirroring(cluster, 'image-pool');
  t.equal(m.mirror_uuid, omap.get('mirror_uuid')!.toString(), 'the mirror uuid is kept in the pool');
  const again = await svc.setPoolMode(cluster, 'image-pool', 'image');
  t.same(again, { previous: 'pool', mode: 'image', siteNameChanged: false });
  t.equal((await svc.getPoolMirroring(cluster, 'image-pool')).mirror_uuid, m.mirror_uuid, 'a mode switch keeps the mirror uuid');

  // The replay daemon records the peer's mirror uuid once it has learnt it.
  await svc.updatePeer(cluster, 'image-pool', uuid, { mirror_uuid: '11111111-2222-3333-4444-555555555555' });
  const [peer] = await svc.listPeers(cluster, 'image-pool');
  t.equal(peer!.mirror_uuid, '11111111-2222-3333-4444-555555555555');

  // Without the peer's keyring in the conf dir there is no connection, and a clear reason.
  await t.rejects(svc.connectPeer(peer!), { message: /^cannot connect to peer site 'remote' as client\.remote: / });
  const key = await two.rbdm('remote', ['auth', 'get-or-create', 'client.remote', 'mon', 'profile rbd', 'osd', 'profile rbd',
    '-o', `${two.c.dir}/remote.client.remote.keyring`]);
  t.equal(key.code, 0, key.stderr);
  const remote = await svc.connectPeer(peer!);
  t.equal(remote.entity, 'client.remote');
  const remoteFsid = /fsid = (\S+)/.exec(readFileSync(`${two.c.dir}/remote.conf`, 'utf8'))![1];
  t.equal(remote.fsid, remoteFsid, "connected to the peer's cluster");
  t.not(remote.fsid, cluster.fsid);
  // `mirror pool info` never needs the peer: it works with the peer's conf and keyring gone.
  const fs = await import('node:fs');
  fs.renameSync(`${two.c.dir}/remote.conf`, `${two.c.dir}/remote.conf.away`);
  fs.rmSync(`${two.c.dir}/remote.client.remote.keyring`);
  const info = await two.rbdm('local', ['mirror', 'pool', 'info', 'image-pool', '--all']);
  t.equal(info.code, 0, info.stderr);
  t.match(info.stdout, /\nName: remote\nMirror UUID: 11111111-2222-3333-4444-555555555555\nDirection: rx-tx\nClient: client\.remote\nMon Host: \nKey: \n$/);
  fs.renameSync(`${two.c.dir}/remote.conf.away`, `${two.c.dir}/remote.conf`);
});

t.test('mode hooks run around mode changes; a throwing before-hook refuses with nothing changed', async (t) => {
  const two = await twoClusters(t, ['image-pool']);
  const { svc, cluster } = await service(t, two);
  const seen: string[] = [];
  const off = svc.registerModeHook({
    name: 'test-images',
    order: 10,
    beforeModeChange: async (c) => {
      seen.push(`before ${c.from}->${c.to}`);
      if (c.to === 'disabled' && seen.includes('refuse')) throw new Error('images still busy');
    },
    afterModeChange: async (c) => void seen.push(`after ${c.from}->${c.to}`),
  });
  t.teardown(off);
  await svc.setPoolMode(cluster, 'image-pool', 'image');
  await svc.setPoolMode(cluster, 'image-pool', 'pool');
  await svc.setPoolMode(cluster, 'image-pool', 'pool');
  seen.push('refuse');
  await t.rejects(svc.setPoolMode(cluster, 'image-pool', 'disabled'), { message: /images still busy/ });
  t.equal((await svc.getPoolMirroring(cluster, 'image-pool')).mode, 'pool', 'still enabled');
  seen.splice(seen.indexOf('refuse'), 1);
  await svc.setPoolMode(cluster, 'image-pool', 'disabled');
  t.same(seen, [
    'before disabled->image', 'after disabled->image',
    'before image->pool', 'after image->pool',
    'before pool->disabled',
    'before pool->disabled', 'after pool->disabled',
  ]);
});
