// Hostile input against a real `rbdm nbd serve`: every kind of garbage gets the protocol's
// error reply or a closed connection, nothing lands outside the image or half-written,
// and the server keeps serving other clients.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import type { Test } from 'tap';
import { CMD, CMD_FLAG, ERR, OPT, RawNbd, REP } from './nbd-client.js';
import { localCluster, serve } from './serve-harness.js';

const M = 1024 * 1024;
const SIZE = 16 * M;

const cl = await localCluster(t);
await cl.ok(['pool', 'create', 'rbd']);
await cl.ok(['create', 'rbd/disk', '--size', '16M', '--image-feature', 'exclusive-lock']);
const srv = await serve(cl, ['rbd/disk', '--bind', '127.0.0.1:0'], t);
const addr = srv.addr;

// A known pattern everywhere, to prove later that nothing changed it.
const fill = Buffer.alloc(SIZE, 0x77);
t.before(async () => {
  const { c } = await RawNbd.open(addr, 'disk');
  for (let o = 0; o < SIZE; o += 4 * M) {
    const r = await c.writeAt(o, fill.subarray(o, o + 4 * M));
    if (r.error !== 0) throw new Error(`fill failed: ${r.error}`);
  }
  c.close();
});

/** A fresh client still gets the whole image back unchanged. */
async function stillServing(t: Test, why: string): Promise<void> {
  const { c, size } = await RawNbd.open(addr, 'disk');
  t.equal(size, SIZE, `${why}: size unchanged`);
  const parts = await Promise.all([0, 1, 2, 3].map((i) => c.read(i * 4 * M, 4 * M)));
  t.ok(parts.every((p, i) => p.error === 0 && p.data.equals(fill.subarray(i * 4 * M, (i + 1) * 4 * M))), `${why}: data unchanged, server serving`);
  c.close();
  t.equal(srv.proc.exitCode, null, `${why}: server still running`);
}

async function negotiating(flags = 3): Promise<RawNbd> {
  const c = await RawNbd.connect(addr);
  await c.readGreeting();
  c.sendClientFlags(flags);
  return c;
}

t.test('handshake and option garbage closes only that connection', async (t) => {
  let c = await negotiating(0xff);
  t.ok(await c.closedWithin(), 'unknown client flags: closed');

  c = await RawNbd.connect(addr);
  await c.readGreeting();
  c.write(Buffer.from([0, 0]));
  c.close(); // truncated client flags

  c = await negotiating();
  c.write(Buffer.concat([Buffer.from('NOTMAGIC'), Buffer.alloc(8)]));
  t.ok(await c.closedWithin(), 'bad option magic: closed');

  c = await negotiating();
  c.sendOption(OPT.GO, Buffer.alloc(0), 1 << 30);
  t.ok(await c.closedWithin(), 'a 1 GiB option: closed without reading it');

  c = await negotiating();
  c.sendOption(OPT.GO, Buffer.alloc(10), 100);
  c.close(); // truncated option data

  c = await negotiating();
  c.sendOption(OPT.GO, RawNbd.goData('bad\0name'));
  t.same((await c.readOptionReplies()).map((r) => r.type), [REP.ERR_INVALID], 'NUL in a name: NBD_REP_ERR_INVALID');
  c.close();

  c = await RawNbd.connect(addr);
  c.write(randomBytes(4096));
  t.ok(await c.closedWithin(), 'random bytes: closed');

  // Many at once, while a good client works.
  const bad = await Promise.all(Array.from({ length: 20 }, () => RawNbd.connect(addr)));
  for (const b of bad) b.write(randomBytes(1000));
  await stillServing(t, 'after 20 garbage clients');
  for (const b of bad) t.ok(await b.closedWithin(), 'garbage client closed');
  await stillServing(t, 'after option garbage');
});

t.test('oversized, out-of-range, unknown and badly flagged requests get error replies', async (t) => {
  const { c } = await RawNbd.open(addr, 'disk');
  t.equal((await c.read(0, 32 * M + 1)).error, ERR.EINVAL, 'READ over 32 MiB: EINVAL');
  const big = Buffer.alloc(33 * M, 0x01);
  t.equal((await c.writeAt(0, big)).error, ERR.EINVAL, 'WRITE over 32 MiB: payload skipped, EINVAL');
  t.equal((await c.read(SIZE - 100, 200)).error, ERR.EINVAL, 'READ past the end: EINVAL');
  t.equal((await c.read(SIZE, 1)).error, ERR.EINVAL, 'READ at the end: EINVAL');
  t.equal((await c.cmd(CMD.READ, 1n << 63n, 512)).error, ERR.EINVAL, 'READ at 2^63: EINVAL');
  t.equal((await c.cmd(CMD.READ, 0xffffffffffffffffn, 1)).error, ERR.EINVAL, 'READ at 2^64-1 (wraps in 64 bits): EINVAL');
  t.equal((await c.writeAt(SIZE - 100, Buffer.alloc(200, 2))).error, ERR.ENOSPC, 'WRITE past the end: ENOSPC');
  t.equal((await c.cmd(CMD.WRITE_ZEROES, SIZE - 100, 200)).error, ERR.ENOSPC, 'WRITE_ZEROES past the end: ENOSPC');
  t.equal((await c.cmd(CMD.TRIM, SIZE - 100, 200)).error, ERR.EINVAL, 'TRIM past the end: EINVAL');
  for (const type of [CMD.CACHE, CMD.BLOCK_STATUS, 9, 0xffff]) {
    t.equal((await c.cmd(type, 0, 512)).error, ERR.EINVAL, `unknown command ${type}: EINVAL`);
  }
  t.equal((await c.read(0, 512, CMD_FLAG.NO_HOLE)).error, ERR.EINVAL, 'NO_HOLE on READ: EINVAL');
  t.equal((await c.read(0, 512, CMD_FLAG.DF)).error, ERR.EINVAL, 'DF without structured replies: EINVAL');
  t.equal((await c.writeAt(0, Buffer.alloc(512, 3), 0x8000)).error, ERR.EINVAL, 'unknown flag on WRITE: EINVAL (payload consumed)');
  t.equal((await c.read(0, 512)).error, 0, 'the connection still works');
  c.close();
  await stillServing(t, 'after refused requests');
});

t.test('broken transmission streams close only their connection', async (t) => {
  let { c } = await RawNbd.open(addr, 'disk');
  c.write(RawNbd.request(CMD.READ, 0, 512, { magic: 0xdeadbeef }));
  t.ok(await c.closedWithin(), 'bad request magic: closed');

  ({ c } = await RawNbd.open(addr, 'disk'));
  c.write(RawNbd.request(CMD.WRITE, 0, 64 * 1024));
  c.write(Buffer.alloc(1000, 0xee));
  c.close(); // truncated payload: nothing of it may be written

  ({ c } = await RawNbd.open(addr, 'disk'));
  c.write(RawNbd.request(CMD.READ, 0, 512).subarray(0, 11));
  c.close(); // truncated header

  ({ c } = await RawNbd.open(addr, 'disk'));
  c.write(randomBytes(64 * 1024));
  t.ok(await c.closedWithin(), 'random bytes after GO: closed');

  ({ c } = await RawNbd.open(addr, 'disk'));
  // A write whose payload never finishes, then the client vanishes mid-stream.
  c.write(RawNbd.request(CMD.WRITE, 4 * M, 8 * M));
  c.write(Buffer.alloc(3 * M, 0xee));
  c.socket.resetAndDestroy();

  await new Promise((r) => setTimeout(r, 300));
  await stillServing(t, 'after broken streams');
  t.match(srv.stderr(), /bad request magic 0xdeadbeef: closing the connection/, 'violations are reported on stderr');
});

t.test('the server stops cleanly after all that', async (t) => {
  t.same(await srv.stop('SIGINT'), { code: 0, signal: null }, 'SIGINT: exit 0');
  t.equal(srv.stdout(), '');
});
