// `rbdm nbd serve` argument refusals and listen errors, and `rbdm nbd list` following the
// running servers (entries removed on exit, dead ones pruned after SIGKILL).
import t from 'tap';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { RawNbd } from './nbd-client.js';
import { localCluster, serve } from './serve-harness.js';

t.test('refusals: exit code, one message on stderr, nothing listening', async (t) => {
  const cl = await localCluster(t);
  await cl.ok(['pool', 'create', 'rbd']);
  await cl.ok(['create', 'rbd/img', '--size', '4M']);
  const cases: Array<[string[], number, RegExp]> = [
    [['rbd/img', '--bind', '127.0.0.1:0', '--socket', '/tmp/x.sock'], 22, /give --bind or --socket, not both/],
    [['rbd/img', '--bind', 'localhost'], 22, /invalid --bind 'localhost': expected HOST:PORT/],
    [['rbd/img', '--bind', '127.0.0.1:70000'], 22, /invalid --bind/],
    [['rbd/a/b'], 22, /invalid image spec/],
    [['rbd/img@snap'], 22, /snapshots are not supported/],
    [['rbd/missing', '--bind', '127.0.0.1:0'], 2, /error opening image missing/],
    [['nopool/img', '--bind', '127.0.0.1:0'], 2, /nopool/],
  ];
  for (const [args, code, msg] of cases) {
    const r = await cl.rbdm(['nbd', 'serve', ...args]);
    t.equal(r.code, code, `${args.join(' ')}: exit ${code}`);
    t.match(r.stderr, msg);
    t.notMatch(r.stderr, /listening on/);
    t.equal(r.stdout, '');
  }
  // A port someone else holds: EBUSY, and the image is left alone.
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  const port = (blocker.address() as { port: number }).port;
  const r = await cl.rbdm(['nbd', 'serve', 'rbd/img', '--bind', `127.0.0.1:${port}`]);
  t.equal(r.code, 16, 'EBUSY');
  t.match(r.stderr, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}`));
  blocker.close();
  t.equal((await cl.rbdm(['nbd', 'list', '--format', 'json'])).stdout.trim(), '[]', 'nothing registered');
});

t.test('nbd list follows running servers; SIGKILLed ones are pruned', async (t) => {
  const cl = await localCluster(t);
  await cl.ok(['pool', 'create', 'rbd']);
  await cl.ok(['pool', 'create', 'other']);
  await cl.ok(['create', 'rbd/a', '--size', '4M']);
  await cl.ok(['create', 'other/b', '--size', '4M']);
  t.equal((await cl.ok(['nbd', 'list'])).stdout, '', 'none: empty output');
  const sa = await serve(cl, ['rbd/a', '--bind', '127.0.0.1:0', '--export-name', 'disk-a'], t);
  const sock = join(cl.c.dir, 'b.sock');
  const sb = await serve(cl, ['other/b', '--socket', sock, '--read-only'], t);
  const list = JSON.parse((await cl.ok(['nbd', 'list', '--format', 'json'])).stdout) as Array<Record<string, unknown>>;
  t.match(list, [
    { pool: 'rbd', image: 'a', export_name: 'disk-a', address: sa.address, read_only: false, pid: sa.proc.pid },
    { pool: 'other', image: 'b', export_name: 'b', address: `unix:${sock}`, read_only: true, pid: sb.proc.pid },
  ]);
  t.equal(list.length, 2);
  const plain = (await cl.ok(['nbd', 'list'])).stdout;
  t.match(plain, /^PID +POOL +IMAGE +EXPORT +ADDRESS +MODE\n/);
  t.match(plain, new RegExp(`${sa.proc.pid} +rbd +a +disk-a +127\\.0\\.0\\.1:\\d+ +rw\\n`));
  t.match(plain, new RegExp(`${sb.proc.pid} +other +b +b +unix:${sock.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} +ro\\n`));
  t.match(JSON.parse((await cl.ok(['nbd', 'list', '--pool', 'other', '--format', 'json'])).stdout), [{ image: 'b' }], '--pool');

  t.same(await sa.stop('SIGTERM'), { code: 0, signal: null });
  t.match(JSON.parse((await cl.ok(['nbd', 'list', '--format', 'json'])).stdout), [{ image: 'b' }], 'a clean exit unregisters');
  await sb.stop('SIGKILL');
  t.ok(existsSync(sock), 'a killed server leaves its socket file');
  t.equal((await cl.ok(['nbd', 'list', '--format', 'json'])).stdout.trim(), '[]', 'the dead entry is not listed');

  // The stale socket file is taken over; a live one is not.
  const again = await serve(cl, ['other/b', '--socket', sock], t);
  const { c } = await RawNbd.open(again.addr, 'b');
  t.equal((await c.read(0, 512)).error, 0, 'serving on the reused socket path');
  c.close();
  const clash = await cl.rbdm(['nbd', 'serve', 'rbd/a', '--socket', sock]);
  t.equal(clash.code, 16, 'a live socket path is EBUSY');
  t.match(clash.stderr, /cannot listen on unix:/);
  await again.stop();
  t.notOk(existsSync(sock), 'the socket file is removed on exit');
});
