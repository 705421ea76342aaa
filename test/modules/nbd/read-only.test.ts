// Read-only exports: `--read-only`, and an image whose write stage refuses (the
// primary-gate fixture, a stand-in for a non-primary image). READ_ONLY is advertised,
// writes get EPERM, the server says why on stderr, and it holds no lock.
import t from 'tap';
import { join } from 'node:path';
import type { Test } from 'tap';
import { CMD, ERR, FLAG, RawNbd } from './nbd-client.js';
import { FIXTURE_MODULES, haveTool, localCluster, serve, tool } from './serve-harness.js';

const M = 1024 * 1024;

async function checkRefusals(t: Test, addr: Parameters<typeof RawNbd.open>[0], name: string): Promise<void> {
  const { c, flags } = await RawNbd.open(addr, name);
  t.equal(flags, FLAG.HAS_FLAGS | FLAG.READ_ONLY | FLAG.SEND_FLUSH | FLAG.CAN_MULTI_CONN,
    'READ_ONLY advertised; no trim, write zeroes or FUA');
  t.equal((await c.writeAt(0, Buffer.from('nope'))).error, ERR.EPERM, 'WRITE: EPERM');
  t.equal((await c.cmd(CMD.TRIM, 0, 4096)).error, ERR.EPERM, 'TRIM: EPERM');
  t.equal((await c.cmd(CMD.WRITE_ZEROES, 0, 4096)).error, ERR.EPERM, 'WRITE_ZEROES: EPERM');
  t.equal((await c.cmd(CMD.FLUSH, 0, 0)).error, 0, 'FLUSH: fine');
  const r = await c.read(0, 5);
  t.equal(r.data.toString(), 'hello', 'reads work');
  c.close();
}

t.test('--read-only', async (t) => {
  const cl = await localCluster(t);
  await cl.ok(['pool', 'create', 'rbd']);
  await cl.ok(['create', 'rbd/img', '--size', '8M', '--image-feature', 'exclusive-lock']);
  // Put "hello" at 0 of img through a first, writable server.
  let srv = await serve(cl, ['rbd/img', '--bind', '127.0.0.1:0'], t);
  t.notMatch(srv.stderr(), /read-only/, 'a writable export says nothing about read-only');
  const w = await RawNbd.open(srv.addr, 'img');
  t.equal((await w.c.writeAt(0, Buffer.from('hello'))).error, 0);
  w.c.close();
  await srv.stop();

  srv = await serve(cl, ['rbd/img', '--bind', '127.0.0.1:0', '--read-only'], t);
  t.match(srv.stderr(), /^rbdm nbd: exporting rbd\/img read-only \(--read-only\): writes get EPERM\nlistening on /, 'said on stderr before the ready line');
  await checkRefusals(t, srv.addr, 'img');
  if (haveTool(t, 'nbdinfo') && haveTool(t, 'qemu-img')) {
    const info = await tool('nbdinfo', ['--json', srv.uri('img')]);
    t.match(JSON.parse(info.stdout), { exports: [{ is_read_only: true, can_trim: false, can_zero: false }] }, 'nbdinfo sees read-only');
    const qcow = join(cl.c.dir, 'x.qcow2');
    await tool('qemu-img', ['create', '-f', 'qcow2', qcow, '8M']);
    await tool('qemu-io', ['-c', 'write -P 0xab 0 1M', qcow]);
    const conv = await tool('qemu-img', ['convert', '-n', '-O', 'raw', qcow, srv.uri('img')]);
    t.not(conv.code, 0, 'qemu-img convert into a read-only export fails');
  }
  const exp = await cl.ok(['export', 'rbd/img', '-']);
  t.equal(exp.stdoutBytes.subarray(0, 5).toString(), 'hello');
  t.ok(exp.stdoutBytes.subarray(5, M).every((b) => b === 0), 'nothing of the refused writes reached the image');
  // No lock held: another writer gets in while the export runs.
  const bench = await cl.rbdm(['bench', '--io-type', 'write', '--io-size', '4K', '--io-total', '64K', '--io-pattern', 'seq', 'rbd/img']);
  t.equal(bench.code, 0, `a writer is not blocked by a read-only export: ${bench.stderr}`);
  t.same(await srv.stop(), { code: 0, signal: null });
});

t.test('an image whose write stage refuses with EROFS (non-primary) is exported read-only', async (t) => {
  const cl = await localCluster(t);
  const env = { RBDM_MODULE_PATH: FIXTURE_MODULES };
  await cl.ok(['pool', 'create', 'rbd']);
  await cl.ok(['mgr', 'module', 'enable', 'primary-gate'], { env });
  await cl.ok(['create', 'rbd/img', '--size', '8M', '--image-feature', 'exclusive-lock'], { env });
  await cl.ok(['primary-gate', 'write', 'img', '0', 'hello'], { env });
  await cl.ok(['primary-gate', 'demote', 'img'], { env });
  const srv = await serve(cl, ['rbd/img', '--bind', '127.0.0.1:0'], t, env);
  t.match(srv.stderr(), /^rbdm nbd: image rbd\/img refuses writes \(image img is not primary\): exporting read-only, writes get EPERM\nlistening on /,
    'said on stderr at start');
  await checkRefusals(t, srv.addr, 'img');
  // The mirror daemon's replay still writes: the export took no lock and no watch.
  const replay = await cl.rbdm(['primary-gate', 'write', 'img', '0', 'HELLO', '--purpose', 'replay'], { env });
  t.equal(replay.code, 0, replay.stderr);
  const { c } = await RawNbd.open(srv.addr, 'img');
  t.equal((await c.read(0, 5)).data.toString(), 'HELLO', 'the export reads the replayed data');
  c.close();
  t.same(await srv.stop(), { code: 0, signal: null });
});
