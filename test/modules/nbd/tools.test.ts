// Real NBD clients from Debian (qemu-img, qemu-io, nbdcopy, nbdinfo) against `rbdm nbd
// serve`, over TCP and a Unix socket; what they wrote is what `rbdm export` reads back.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { openSync, closeSync, readFileSync, writeSync, ftruncateSync } from 'node:fs';
import { join } from 'node:path';
import { haveTool, localCluster, serve, tool } from './serve-harness.js';

const M = 1024 * 1024;
const SIZE = 64 * M;

t.test('qemu-img convert/compare, nbdinfo, nbdcopy both ways, then rbdm export', async (t) => {
  for (const x of ['qemu-img', 'qemu-io', 'nbdcopy', 'nbdinfo']) if (!haveTool(t, x)) return;
  const cl = await localCluster(t);
  await cl.ok(['pool', 'create', 'rbd']);
  await cl.ok(['create', 'rbd/vm', '--size', '64M', '--image-feature', 'exclusive-lock']);
  const dir = cl.c.dir;
  let srv = await serve(cl, ['rbd/vm', '--bind', '127.0.0.1:0', '--export-name', 'vm-export'], t);
  const uri = srv.uri('vm-export');

  const info = await tool('nbdinfo', ['--json', uri]);
  t.equal(info.code, 0, info.stderr);
  const exp = (JSON.parse(info.stdout) as { exports: Array<Record<string, unknown>> }).exports[0]!;
  t.match(exp, { 'export-name': 'vm-export', 'export-size': SIZE, is_read_only: false, can_flush: true, can_fua: true,
    can_trim: true, can_zero: true, can_multi_conn: true, block_size_maximum: 32 * M }, 'nbdinfo --json');

  // A qcow2 with 1 MiB of 0xab at 0, converted into the export.
  const qcow = join(dir, 'src.qcow2');
  t.equal((await tool('qemu-img', ['create', '-f', 'qcow2', qcow, '64M'])).code, 0);
  t.equal((await tool('qemu-io', ['-c', 'write -P 0xab 0 1M', '-c', 'write -P 0xcd 40M 512K', qcow])).code, 0);
  const conv = await tool('qemu-img', ['convert', '-n', '-O', 'raw', qcow, uri]);
  t.equal(conv.code, 0, `qemu-img convert: ${conv.stderr}`);
  const cmp = await tool('qemu-img', ['compare', qcow, uri]);
  t.equal(cmp.code, 0, `qemu-img compare: ${cmp.stdout}${cmp.stderr}`);
  t.match(cmp.stdout, /Images are identical/);

  // nbdcopy out: the export to a file.
  const out = join(dir, 'out.raw');
  const copyOut = await tool('nbdcopy', [uri, out]);
  t.equal(copyOut.code, 0, copyOut.stderr);
  const expected = Buffer.alloc(SIZE);
  expected.fill(0xab, 0, M);
  expected.fill(0xcd, 40 * M, 40 * M + 512 * 1024);
  t.ok(readFileSync(out).equals(expected), 'nbdcopy out: the converted bytes');

  // nbdcopy in: a sparse file with random data in two places.
  const src = join(dir, 'in.raw');
  const fd = openSync(src, 'w');
  const r1 = randomBytes(3 * M + 123);
  const r2 = randomBytes(M);
  writeSync(fd, r1, 0, r1.length, 5 * M + 7);
  writeSync(fd, r2, 0, r2.length, SIZE - M);
  ftruncateSync(fd, SIZE);
  closeSync(fd);
  const copyIn = await tool('nbdcopy', [src, uri]);
  t.equal(copyIn.code, 0, copyIn.stderr);
  const cmp2 = await tool('qemu-img', ['compare', '-f', 'raw', '-F', 'raw', src, uri]);
  t.equal(cmp2.code, 0, `after nbdcopy in: ${cmp2.stdout}${cmp2.stderr}`);

  t.same(await srv.stop('SIGINT'), { code: 0, signal: null });
  t.equal(srv.stdout(), '', 'nothing on stdout');
  let back = (await cl.ok(['export', 'rbd/vm', '-'])).stdoutBytes;
  t.ok(back.equals(readFileSync(src)), 'rbdm export after the server stopped: the bytes written through NBD');

  // The same over a Unix socket (nbd+unix URIs), qemu-io writing through it.
  const sock = join(dir, 'nbd.sock');
  srv = await serve(cl, ['rbd/vm', '--socket', sock], t);
  t.equal(srv.address, `unix:${sock}`);
  const uuri = srv.uri('vm');
  t.equal(uuri, `nbd+unix:///vm?socket=${sock}`);
  const uinfo = await tool('nbdinfo', ['--json', uuri]);
  t.equal(uinfo.code, 0, uinfo.stderr);
  t.match(JSON.parse(uinfo.stdout), { exports: [{ 'export-name': 'vm', 'export-size': SIZE }] });
  const qio = await tool('qemu-io', ['-f', 'raw', '-c', 'write -P 0x5e 1000 3000', '-c', 'write -z 6M 1M', uuri]);
  t.equal(qio.code, 0, qio.stderr);
  t.same(await srv.stop('SIGTERM'), { code: 0, signal: null });
  const want = readFileSync(src);
  want.fill(0x5e, 1000, 4000);
  want.fill(0, 6 * M, 7 * M);
  back = (await cl.ok(['export', 'rbd/vm', '-'])).stdoutBytes;
  t.ok(back.equals(want), 'qemu-io write and write -z over the Unix socket reached the image');
});
