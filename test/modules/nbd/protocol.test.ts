// The NBD protocol as a raw client speaks it to a real `rbdm nbd serve`: the handshake,
// every option, every command (FUA, NO_HOLE, DISC), and several clients at once.
import t from 'tap';
import { CMD, CMD_FLAG, ERR, FLAG, INFO, IHAVEOPT, NBDMAGIC, OPT, RawNbd, REP, SIMPLE_REPLY_MAGIC } from './nbd-client.js';
import { dataObjects, localCluster, serve } from './serve-harness.js';

const K = 1024;
const M = 1024 * K;
const SIZE = 64 * M;
const OBJ = 4 * M;

const cl = await localCluster(t);
await cl.ok(['pool', 'create', 'rbd']);
await cl.ok(['create', 'rbd/disk', '--size', '64M', '--image-feature', 'exclusive-lock']);
const srv = await serve(cl, ['rbd/disk', '--bind', '127.0.0.1:0'], t);
const addr = srv.addr;

const pattern = (n: number, seed: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff));

t.test('greeting: NBDMAGIC, IHAVEOPT, FIXED_NEWSTYLE | NO_ZEROES', async (t) => {
  const c = await RawNbd.connect(addr);
  t.same(await c.readGreeting(), { magic: NBDMAGIC, optsMagic: IHAVEOPT, flags: 3 });
  c.close();
});

t.test('NBD_OPT_LIST: one NBD_REP_SERVER, then ACK; data is NBD_REP_ERR_INVALID', async (t) => {
  const c = await RawNbd.connect(addr);
  await c.readGreeting();
  c.sendClientFlags(1);
  c.sendOption(OPT.LIST);
  const r = await c.readOptionReplies();
  t.same(r.map((x) => x.type), [REP.SERVER, REP.ACK]);
  const d = r[0]!.data;
  const n = d.readUInt32BE(0);
  t.equal(d.subarray(4, 4 + n).toString(), 'disk', 'the export name');
  t.equal(d.subarray(4 + n).toString(), 'rbd/disk', 'details: the image');
  c.sendOption(OPT.LIST, Buffer.from('x'));
  t.same((await c.readOptionReplies()).map((x) => x.type), [REP.ERR_INVALID]);
  c.sendOption(OPT.ABORT);
  t.equal((await c.readOptionReply()).type, REP.ACK, 'ABORT is acknowledged');
  t.ok(await c.closedWithin(), 'then the server closes');
});

t.test('NBD_OPT_INFO: export, name, description, block size; negotiation continues', async (t) => {
  const c = await RawNbd.connect(addr);
  await c.readGreeting();
  c.sendClientFlags(3);
  c.sendOption(OPT.INFO, RawNbd.goData('disk', [INFO.NAME, INFO.DESCRIPTION, INFO.BLOCK_SIZE]));
  const r = await c.readOptionReplies();
  t.equal(r[r.length - 1]!.type, REP.ACK);
  const info = new Map(r.filter((x) => x.type === REP.INFO).map((x) => [x.data.readUInt16BE(0), x.data.subarray(2)]));
  const exp = info.get(INFO.EXPORT)!;
  t.equal(Number(exp.readBigUInt64BE(0)), SIZE, 'size');
  t.equal(exp.readUInt16BE(8),
    FLAG.HAS_FLAGS | FLAG.SEND_FLUSH | FLAG.SEND_FUA | FLAG.SEND_TRIM | FLAG.SEND_WRITE_ZEROES | FLAG.CAN_MULTI_CONN,
    'transmission flags: flush, FUA, trim, write zeroes, multi-conn; not read-only');
  t.equal(info.get(INFO.NAME)!.toString(), 'disk');
  t.equal(info.get(INFO.DESCRIPTION)!.toString(), 'rbd/disk');
  const bs = info.get(INFO.BLOCK_SIZE)!;
  t.same([bs.readUInt32BE(0), bs.readUInt32BE(4), bs.readUInt32BE(8)], [1, 4096, 32 * M], 'min, preferred, max');
  // INFO does not end negotiation: GO with the default (empty) name does.
  c.sendOption(OPT.GO, RawNbd.goData(''));
  const go = await c.readOptionReplies();
  t.equal(go[go.length - 1]!.type, REP.ACK, 'the empty name is the default export');
  const rd = await c.read(0, 512);
  t.equal(rd.error, 0, 'in transmission');
  c.close();
});

t.test('unknown export, malformed GO, unknown and unsupported options: errors, then GO works', async (t) => {
  const c = await RawNbd.connect(addr);
  await c.readGreeting();
  c.sendClientFlags(1);
  c.sendOption(OPT.GO, RawNbd.goData('nope'));
  const unk = await c.readOptionReplies();
  t.same(unk.map((x) => x.type), [REP.ERR_UNKNOWN]);
  t.match(unk[0]!.data.toString(), /nope/, 'with a message');
  c.sendOption(OPT.GO, Buffer.from([0, 0, 0, 9, 1, 2]));
  t.same((await c.readOptionReplies()).map((x) => x.type), [REP.ERR_INVALID], 'name length past the data');
  c.sendOption(OPT.INFO, Buffer.concat([RawNbd.goData('disk'), Buffer.from([7])]));
  t.same((await c.readOptionReplies()).map((x) => x.type), [REP.ERR_INVALID], 'trailing bytes');
  for (const opt of [0x1234, OPT.STARTTLS, OPT.STRUCTURED_REPLY, OPT.LIST_META_CONTEXT]) {
    c.sendOption(opt, Buffer.from('some data'));
    t.same((await c.readOptionReplies()).map((x) => x.type), [REP.ERR_UNSUP], `option ${opt}: NBD_REP_ERR_UNSUP`);
  }
  c.sendOption(OPT.GO, RawNbd.goData('disk'));
  const go = await c.readOptionReplies();
  t.equal(go[go.length - 1]!.type, REP.ACK);
  t.equal((await c.read(0, 1)).error, 0);
  c.close();
});

t.test('NBD_OPT_EXPORT_NAME: 124 zero bytes unless NO_ZEROES; unknown name closes', async (t) => {
  const a = await RawNbd.connect(addr);
  await a.readGreeting();
  a.sendClientFlags(1);
  a.sendOption(OPT.EXPORT_NAME, Buffer.from('disk'));
  const r = await a.readExact(134);
  t.equal(Number(r.readBigUInt64BE(0)), SIZE);
  t.equal(r.readUInt16BE(8) & FLAG.HAS_FLAGS, 1);
  t.ok(r.subarray(10).every((b) => b === 0), '124 zeros');
  t.equal((await a.read(0, 8)).error, 0);
  a.close();

  const b = await RawNbd.connect(addr);
  await b.readGreeting();
  b.sendClientFlags(3);
  b.sendOption(OPT.EXPORT_NAME, Buffer.from('disk'));
  t.equal((await b.readExact(10)).readBigUInt64BE(0), BigInt(SIZE));
  b.write(RawNbd.request(CMD.FLUSH, 0, 0, { handle: 77n }));
  const rep = await b.readExact(16);
  t.equal(rep.readUInt32BE(0), SIMPLE_REPLY_MAGIC, 'the next bytes are the reply: no zeros');
  t.equal(rep.readBigUInt64BE(8), 77n);
  b.close();

  const c = await RawNbd.connect(addr);
  await c.readGreeting();
  c.sendClientFlags(3);
  c.sendOption(OPT.EXPORT_NAME, Buffer.from('other'));
  t.ok(await c.closedWithin(), 'no error reply exists for EXPORT_NAME: the session ends');
});

t.test('READ, WRITE, FLUSH, TRIM, WRITE_ZEROES (with and without NO_HOLE), FUA, DISC', async (t) => {
  const { c, size, flags } = await RawNbd.open(addr, 'disk');
  t.equal(size, SIZE);
  t.equal(flags & FLAG.READ_ONLY, 0);
  const a = pattern(64 * K, 1);
  t.same(await c.writeAt(M, a), { error: 0, handle: 1n, data: Buffer.alloc(0) });
  t.ok((await c.read(M, 64 * K)).data.equals(a), 'read back');
  // Unaligned, and across an object boundary.
  const b = pattern(1000, 2);
  t.equal((await c.writeAt(OBJ - 500, b)).error, 0);
  const back = await c.read(OBJ - 600, 1200);
  t.ok(back.data.equals(Buffer.concat([Buffer.alloc(100), b, Buffer.alloc(100)])), 'unaligned write across objects');
  t.equal((await c.cmd(CMD.FLUSH, 0, 0)).error, 0, 'FLUSH');
  t.equal((await c.writeAt(2 * M, pattern(4 * K, 3), CMD_FLAG.FUA)).error, 0, 'WRITE with FUA');
  t.equal((await c.read(0, 0)).error, 0, 'zero-length READ');

  // Whole objects: 1 and 2 filled, then object 1 trimmed, object 2 zeroed with NO_HOLE,
  // object 3 filled then zeroed without NO_HOLE.
  for (const o of [1, 2, 3]) t.equal((await c.writeAt(o * OBJ, Buffer.alloc(OBJ, 0x5a))).error, 0);
  t.equal((await c.cmd(CMD.TRIM, OBJ, OBJ)).error, 0, 'TRIM');
  t.equal((await c.cmd(CMD.WRITE_ZEROES, 2 * OBJ, OBJ, { flags: CMD_FLAG.NO_HOLE })).error, 0, 'WRITE_ZEROES NO_HOLE');
  t.equal((await c.cmd(CMD.WRITE_ZEROES, 3 * OBJ, OBJ, { flags: CMD_FLAG.FUA })).error, 0, 'WRITE_ZEROES with FUA');
  t.equal((await c.cmd(CMD.TRIM, 0, 100, { flags: CMD_FLAG.FUA })).error, 0, 'partial TRIM with FUA');
  for (const o of [1, 2, 3]) {
    const r = await c.read(o * OBJ, OBJ);
    t.ok(r.error === 0 && r.data.every((x) => x === 0), `object ${o} reads as zeros`);
  }
  t.ok((await c.read(0, 100)).data.every((x) => x === 0), 'trimmed head reads as zeros');
  const objs = (await dataObjects(cl, 'rbd/disk')).map((o) => Number.parseInt(o.slice(-16), 16));
  t.notOk(objs.includes(1), 'TRIM removed the whole object');
  t.ok(objs.includes(2), 'NO_HOLE kept the object allocated');
  t.notOk(objs.includes(3), 'WRITE_ZEROES without NO_HOLE may punch the hole, and did');

  c.disconnect();
  t.ok(await c.closedWithin(), 'DISC: the server closes the connection');
});

t.test('pipelined requests on one connection, several clients at once', async (t) => {
  const clients = await Promise.all([0, 1, 2, 3].map(() => RawNbd.open(addr, 'disk')));
  const base = 40 * M;
  // Each client writes 32 blocks of its own pattern, all in flight together.
  await Promise.all(clients.map(async ({ c }, i) => {
    const rs = await Promise.all(Array.from({ length: 32 }, (_, j) => c.writeAt(base + (i * 32 + j) * 16 * K, pattern(16 * K, i * 100 + j))));
    t.ok(rs.every((r) => r.error === 0), `client ${i}: 32 pipelined writes`);
  }));
  t.equal((await clients[0]!.c.cmd(CMD.FLUSH, 0, 0)).error, 0);
  // Every client sees every client's data (CAN_MULTI_CONN: one shared image).
  for (const [k, { c }] of clients.entries()) {
    const rs = await Promise.all(Array.from({ length: 4 * 32 }, (_, n) => c.read(base + n * 16 * K, 16 * K)));
    t.ok(rs.every((r, n) => r.data.equals(pattern(16 * K, Math.floor(n / 32) * 100 + (n % 32)))), `client ${k} reads all 128 blocks`);
  }
  for (const { c } of clients) c.close();
});

t.test('a client that disconnects mid-way does not disturb another', async (t) => {
  const a = await RawNbd.open(addr, 'disk');
  const b = await RawNbd.open(addr, 'disk');
  void a.c.writeAt(10 * M, pattern(M, 9)).catch(() => undefined);
  a.c.close();
  const r = await b.c.writeAt(12 * M, pattern(4 * K, 8));
  t.equal(r.error, 0);
  t.ok((await b.c.read(12 * M, 4 * K)).data.equals(pattern(4 * K, 8)));
  b.c.close();
});

t.test('SIGTERM: the server exits 0 with nothing on stdout', async (t) => {
  const { c } = await RawNbd.open(addr, 'disk');
  t.equal((await c.writeAt(0, Buffer.from('last words'))).error, 0);
  const x = await srv.stop('SIGTERM');
  t.same(x, { code: 0, signal: null });
  t.equal(srv.stdout(), '');
  t.ok(await c.closedWithin(), 'connections are closed');
  const exp = await cl.ok(['export', 'rbd/disk', '-']);
  t.equal(exp.stdoutBytes.subarray(0, 10).toString(), 'last words', 'the data is in the image');
});
