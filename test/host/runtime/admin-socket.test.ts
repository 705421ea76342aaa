// The admin socket, over real unix sockets: Ceph's framing, built-in commands, errors that
// reach the client as HostErrors, and a server that survives garbage, floods, crashed
// predecessors and live neighbours.
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { err } from '../../../host/errors.js';
import {
  ADMIN_SOCK_VERSION, AdminSocketServer, MAX_REQUEST_BYTES, adminCommand,
} from '../../../host/runtime/admin-socket.js';
import { createLogger, type LogSink } from '../../../host/runtime/logger.js';

// sun_path holds 108 bytes: keep temp dirs short.
function tempDir(t: Test): string {
  const dir = mkdtempSync('/tmp/rbdm-as-');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function started(t: Test, path: string, setup?: (s: AdminSocketServer) => void, lines?: string[]): Promise<AdminSocketServer> {
  const sink: LogSink = { write: (l) => lines?.push(l), reopen() {}, close() {} };
  const s = new AdminSocketServer(path, createLogger(sink, 'debug'), { requestTimeoutMs: 300 });
  setup?.(s);
  await s.start();
  t.teardown(() => s.close());
  return s;
}

interface RawReply {
  /** Everything the server sent before closing. */
  bytes: Buffer;
  /** The framed body, when the bytes hold a complete frame. */
  body: string | undefined;
}

/** Sends bytes as they are, optionally half-closes, and collects the reply until the server closes. */
function raw(path: string, data: Buffer | string, opts: { end?: boolean } = {}): Promise<RawReply> {
  return new Promise((res, rej) => {
    const chunks: Buffer[] = [];
    const s = net.connect(path, () => {
      s.write(data);
      if (opts.end) s.end();
    });
    s.on('data', (c: Buffer) => chunks.push(c));
    const done = () => {
      const bytes = Buffer.concat(chunks);
      const len = bytes.length >= 4 ? bytes.readUInt32BE(0) : -1;
      res({ bytes, body: len >= 0 && bytes.length === 4 + len ? bytes.subarray(4).toString('utf8') : undefined });
    };
    s.on('close', done);
    // The server may close while we are still writing a flood: that is the expected answer.
    s.on('error', (e: NodeJS.ErrnoException) => (e.code === 'EPIPE' || e.code === 'ECONNRESET' ? undefined : rej(e)));
  });
}

t.test('commands: JSON and plain strings, results as JSON or text', async (t) => {
  const path = join(tempDir(t), 'a.asok');
  const seen: Record<string, unknown>[] = [];
  await started(t, path, (s) => {
    s.register('status', 'get status', (cmd) => {
      seen.push(cmd);
      return { state: 'running', n: 1, nested: { a: [1] } };
    });
    s.register('log reopen', 'reopen the log', () => '');
    s.register('echo', 'echo text', async (cmd) => `text:${JSON.stringify(cmd)}`);
    s.register('rbd mirror status image-pool/image-1', 'get status for image-1', () => ({ image: 1 }));
    s.register('nothing', 'returns undefined', () => undefined);
  });

  const pretty = '{\n    "state": "running",\n    "n": 1,\n    "nested": {\n        "a": [\n            1\n        ]\n    }\n}\n';
  t.equal(await adminCommand(path, { prefix: 'status' }), pretty, '4-space JSON and a newline, like json-pretty');
  t.equal(await adminCommand(path, 'status'), pretty, 'plain string');
  t.equal(await adminCommand(path, { prefix: 'status', format: 'json' }), '{"state":"running","n":1,"nested":{"a":[1]}}\n');
  t.equal(await adminCommand(path, 'log reopen'), '');
  t.equal(await adminCommand(path, 'nothing'), '');
  t.equal(await adminCommand(path, { prefix: 'echo', pool: 'p', n: 2 }), 'text:{"prefix":"echo","pool":"p","n":2}', 'JSON fields reach the handler');
  t.equal(await adminCommand(path, 'echo a  b'), 'text:{"prefix":"echo","args":["a","b"]}', 'extra words of a plain string become args');
  t.equal(await adminCommand(path, 'rbd mirror status image-pool/image-1'), '{\n    "image": 1\n}\n', 'longest registered prefix');
  t.equal(seen.length, 3);
  t.same(seen[2], { prefix: 'status', format: 'json' });
});

t.test('built-ins: help, 0, get_command_descriptions', async (t) => {
  const path = join(tempDir(t), 'b.asok');
  await started(t, path, (s) => {
    s.register('rbd mirror status', 'get status for rbd mirror', () => ({}));
    s.register('rbd mirror flush', 'flush rbd mirror', () => ({}));
    s.register('hidden', '', () => 'x');
  });
  t.equal(await adminCommand(path, 'help'), [
    '{',
    '    "get_command_descriptions": "list available commands",',
    '    "help": "list available commands",',
    '    "rbd mirror flush": "flush rbd mirror",',
    '    "rbd mirror status": "get status for rbd mirror"',
    '}',
    '',
  ].join('\n'), 'sorted like ceph daemon X help; empty descriptions hidden');
  t.equal(await adminCommand(path, { prefix: '0' }), ADMIN_SOCK_VERSION);
  t.equal(await adminCommand(path, 'hidden'), 'x', 'hidden commands still run');
  const descs = JSON.parse(await adminCommand(path, 'get_command_descriptions')) as Record<string, { sig: string[]; help: string }>;
  t.same(Object.keys(descs), ['cmd000', 'cmd001', 'cmd002', 'cmd003', 'cmd004', 'cmd005']);
  t.same(Object.values(descs).find((d) => d.help === 'flush rbd mirror')?.sig, ['rbd', 'mirror', 'flush']);
});

t.test('wire format: length-prefixed reply; \\0, \\n or half-close end a request', async (t) => {
  const path = join(tempDir(t), 'c.asok');
  await started(t, path, (s) => s.register('status', 'x', () => 'ok'));
  for (const [how, data, end] of [
    ['NUL', '{"prefix":"status"}\0', false],
    ['newline', 'status\n', false],
    ['half-close', '{"prefix": "status"}', true],
    ['bytes after the terminator are ignored', 'status\0garbage that is never read', false],
  ] as const) {
    const r = await raw(path, data, { end });
    t.same(r.bytes, Buffer.from([0, 0, 0, 2, 0x6f, 0x6b]), how);
  }
});

t.test('errors reach the client with code, errno and message', async (t) => {
  const path = join(tempDir(t), 'd.asok');
  const lines: string[] = [];
  await started(t, path, (s) => {
    s.register('missing', 'x', () => {
      throw err('ERR_IMAGE_NOT_FOUND', "image 'x' not found");
    });
    s.register('boom', 'x', async () => {
      throw new Error('kaboom');
    });
    s.register('bigint', 'x', () => ({ n: 1n }));
    s.register('ok', 'x', () => 'still here');
  }, lines);

  const r = await raw(path, '{"prefix":"nope"}\0');
  t.equal(r.body, "ERROR: (22) Invalid argument [ERR_UNKNOWN_COMMAND]\nunknown command 'nope'\n", 'Ceph-style error body');
  await t.rejects(adminCommand(path, 'nope'), { code: 'ERR_UNKNOWN_COMMAND', errno: 'EINVAL', message: "unknown command 'nope'" });
  await t.rejects(adminCommand(path, { prefix: 'ok extra' }), { code: 'ERR_UNKNOWN_COMMAND', message: "unknown command 'ok extra'" }, 'JSON prefixes match exactly');
  await t.rejects(adminCommand(path, 'missing'), { code: 'ERR_IMAGE_NOT_FOUND', errno: 'ENOENT', message: "image 'x' not found" });
  await t.rejects(adminCommand(path, 'boom'), { code: 'ERR_INTERNAL', errno: 'EIO', message: 'internal error: kaboom' });
  t.match(lines.join(''), /ERROR .*command failed .*kaboom/, 'the stack goes to the log');
  await t.rejects(adminCommand(path, 'bigint'), { code: 'ERR_INTERNAL', message: /BigInt/ });
  t.equal(await adminCommand(path, 'ok'), 'still here', 'the server survived');
});

t.test('garbage and oversized requests', async (t) => {
  const path = join(tempDir(t), 'e.asok');
  await started(t, path, (s) => s.register('ok', 'x', () => 'fine'));
  const cases: [string, Buffer | string, string][] = [
    ['broken JSON', '{"prefix": \0', 'invalid json: '],
    ['JSON that is not an object', '{}\0', 'invalid json: missing prefix'],
    ['non-string prefix', '{"prefix": 7}\0', 'invalid json: missing prefix'],
    ['empty', '\0', 'empty command'],
    ['blank', '   \0', 'empty command'],
    ['not UTF-8', Buffer.from([0xff, 0xfe, 0x80, 0]), 'request is not valid UTF-8'],
    ['binary old-protocol request', Buffer.from([0, 0, 0, 0]), 'empty command'],
  ];
  for (const [what, data, msg] of cases) {
    const r = await raw(path, data);
    t.ok(r.body?.startsWith(`ERROR: (22) Invalid argument [ERR_INVALID_ARGUMENT]\n${msg}`), `${what}: ${JSON.stringify(r.body)}`);
  }
  t.match((await raw(path, '[1,2]\0')).body, /^ERROR: \(22\) Invalid argument \[ERR_UNKNOWN_COMMAND\]\nunknown command '\[1,2\]'/);

  const flood = await raw(path, Buffer.alloc(MAX_REQUEST_BYTES + 1, 'a'));
  t.equal(flood.bytes.length, 0, 'a request over 64 KiB is closed without a reply');
  const floodInPieces = await raw(path, Buffer.alloc(4 * MAX_REQUEST_BYTES, 'a'));
  t.equal(floodInPieces.bytes.length, 0, 'also when it arrives in many chunks');
  const atLimit = await raw(path, Buffer.concat([Buffer.alloc(MAX_REQUEST_BYTES, 'a'), Buffer.from([0])]));
  t.match(atLimit.body, /^ERROR: .*\[ERR_UNKNOWN_COMMAND\]/, 'exactly 64 KiB is still read');

  await t.rejects(adminCommand(path, 'a'.repeat(MAX_REQUEST_BYTES + 1)), { code: 'ERR_INVALID_ARGUMENT', message: /longer than 65536 bytes/ });
  await t.rejects(adminCommand(path, 'ok\nok'), { code: 'ERR_INVALID_ARGUMENT', message: /NUL or newline/ });
  t.equal(await adminCommand(path, 'ok'), 'fine', 'the server survived it all');
});

t.test('a client that sends nothing is cut off; a slow handler is not', async (t) => {
  const path = join(tempDir(t), 'f.asok');
  const lines: string[] = [];
  await started(t, path, (s) => {
    s.register('slow', 'x', () => new Promise((res) => setTimeout(() => res('done'), 600)));
  }, lines);
  const r = await raw(path, 'slo'); // no terminator, no half-close
  t.equal(r.bytes.length, 0, 'closed without reply');
  t.match(lines.join(''), /no complete request in 300 ms/);
  t.equal(await adminCommand(path, 'slow'), 'done', 'a handler may take longer than the request timeout');
});

t.test('concurrent clients', async (t) => {
  const path = join(tempDir(t), 'g.asok');
  await started(t, path, (s) => s.register('n', 'x', async (cmd) => {
    await new Promise((res) => setTimeout(res, Math.random() * 20));
    return { n: cmd['n'] };
  }));
  const replies = await Promise.all(Array.from({ length: 40 }, (_, n) => adminCommand(path, { prefix: 'n', n })));
  t.same(replies.map((r) => (JSON.parse(r) as { n: number }).n), Array.from({ length: 40 }, (_, n) => n));
});

t.test('register: duplicates and bad prefixes', async (t) => {
  const path = join(tempDir(t), 'h.asok');
  const s = await started(t, path, (s) => s.register('status', 'x', () => 'a'));
  t.throws(() => s.register('status', 'y', () => 'b'), { code: 'ERR_MODULE_PREFIX_CLASH', errno: 'EEXIST', message: "admin socket command 'status' is already registered" });
  t.throws(() => s.register('help', 'y', () => 'b'), { code: 'ERR_MODULE_PREFIX_CLASH' }, 'built-ins are taken too');
  for (const bad of ['', ' status2', 'a  b', 'a\tb', 'a\0', 'a ']) {
    t.throws(() => s.register(bad, 'y', () => 'b'), { code: 'ERR_INVALID_ARGUMENT', errno: 'EINVAL' }, JSON.stringify(bad));
  }
  t.equal(await adminCommand(path, 'status'), 'a', 'the first registration stands');
  s.register('later', 'added while serving', () => 'late');
  t.equal(await adminCommand(path, 'later'), 'late');
  t.equal(s.unregister('later'), true);
  t.equal(s.unregister('later'), false);
  await t.rejects(adminCommand(path, 'later'), { code: 'ERR_UNKNOWN_COMMAND' });
});

t.test('start: stale socket of a killed daemon is replaced', async (t) => {
  const path = join(tempDir(t), 'i.asok');
  const child = spawn(process.execPath, ['-e', "require('net').createServer().listen(process.argv[1], () => console.log('ready'))", path], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((res) => child.stdout.once('data', () => res()));
  const exited = new Promise((res) => child.once('exit', res));
  child.kill('SIGKILL');
  await exited;
  t.ok(lstatSync(path).isSocket(), 'the dead daemon left its socket file');
  await t.rejects(adminCommand(path, 'status'), { code: 'ERR_ADMIN_SOCKET', errno: 'ECONNREFUSED', message: `can't connect to admin socket ${path}: (111) Connection refused: is the daemon running?` });

  await started(t, path, (s) => s.register('status', 'x', () => 'new'));
  t.equal(await adminCommand(path, 'status'), 'new');
});

t.test('start: a socket in use is left alone', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'j.asok');
  await started(t, path, (s) => s.register('status', 'x', () => 'first'));
  const second = new AdminSocketServer(path);
  await t.rejects(second.start(), { code: 'ERR_ADMIN_SOCKET', errno: 'EEXIST', message: `admin socket ${path} is in use by a running daemon` });
  t.equal(await adminCommand(path, 'status'), 'first', 'the running daemon still answers');
  await second.close();
  t.equal(await adminCommand(path, 'status'), 'first', 'closing the refused server removed nothing');

  // Any listener counts, not just ours.
  const foreignPath = join(dir, 'k.asok');
  const foreign = net.createServer((c) => c.end());
  await new Promise<void>((res) => foreign.listen(foreignPath, res));
  t.teardown(() => new Promise<void>((res) => foreign.close(() => res())));
  await t.rejects(new AdminSocketServer(foreignPath).start(), { code: 'ERR_ADMIN_SOCKET', errno: 'EEXIST', message: /is in use/ });
  t.ok(lstatSync(foreignPath).isSocket());
});

t.test('start: a path that is not a socket is never removed', async (t) => {
  const path = join(tempDir(t), 'l.asok');
  writeFileSync(path, 'precious');
  await t.rejects(new AdminSocketServer(path).start(), { code: 'ERR_ADMIN_SOCKET', errno: 'EEXIST', message: `admin socket path ${path} exists and is not a socket; not removing it` });
  t.equal(readFileSync(path, 'utf8'), 'precious');
});

t.test('start: bad paths', async (t) => {
  const dir = tempDir(t);
  const long = join(dir, `${'x'.repeat(120)}.asok`);
  await t.rejects(new AdminSocketServer(long).start(), { code: 'ERR_INVALID_ARGUMENT', errno: 'EINVAL', message: /is too long \(\d+ bytes, at most 107\)/ });
  t.notOk(existsSync(long));
  const nodir = join(dir, 'no', 'm.asok');
  await t.rejects(new AdminSocketServer(nodir).start(), { code: 'ERR_ADMIN_SOCKET', errno: 'ENOENT', message: `can't bind admin socket ${nodir}: (2) No such file or directory` });
  const path = join(dir, 'n.asok');
  const s = await started(t, path);
  await t.rejects(s.start(), { code: 'ERR_INVALID_ARGUMENT', message: /already started/ });
});

t.test('close removes the socket; clients then get a clear error', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'o.asok');
  const s = new AdminSocketServer(path);
  s.register('status', 'x', () => 'up');
  await s.start();
  const idle = net.connect(path);
  await new Promise((res) => idle.once('connect', res));
  const idleClosed = new Promise((res) => idle.once('close', res));
  t.equal(await adminCommand(path, 'status'), 'up');
  await s.close();
  await idleClosed;
  t.pass('open connections are dropped');
  t.notOk(existsSync(path), 'socket file removed');
  await s.close();
  t.pass('close twice is fine');
  await t.rejects(adminCommand(path, 'status'), { code: 'ERR_ADMIN_SOCKET', errno: 'ENOENT', message: `can't connect to admin socket ${path}: (2) No such file or directory: is the daemon running?` });

  await s.start();
  t.equal(await adminCommand(path, 'status'), 'up', 'a closed server can start again');
  await s.close();
});

t.test('client: timeout and a peer that hangs up', async (t) => {
  const dir = tempDir(t);
  const mute = join(dir, 'p.asok');
  // Reads requests and never answers.
  const silent = net.createServer((c) => c.resume());
  await new Promise<void>((res) => silent.listen(mute, res));
  const hangup = join(dir, 'q.asok');
  // Promises 9 bytes, sends 1, hangs up.
  const rude = net.createServer((c) => c.resume().end(Buffer.from([0, 0, 0, 9, 0x61])));
  await new Promise<void>((res) => rude.listen(hangup, res));
  t.teardown(async () => {
    await new Promise<void>((res) => silent.close(() => res()));
    await new Promise<void>((res) => rude.close(() => res()));
  });

  await t.rejects(adminCommand(mute, 'status', 150), { code: 'ERR_TIMEOUT', errno: 'ETIMEDOUT', message: `no reply from admin socket ${mute} within 150 ms` });
  await t.rejects(adminCommand(hangup, 'status'), { code: 'ERR_ADMIN_SOCKET', errno: 'EIO', message: `admin socket ${hangup} closed the connection without a complete reply` });
});
