// The exclusive lock between real processes: one writer at a time, waiting writers woken on
// release, and a SIGKILLed writer's lock broken by the next client.
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Cluster } from '../../../host/index.js';
import { ExclusiveLock, LOCK_NAME, LOCK_TAG } from '../../../modules/rbd/exclusive-lock.js';
import { embeddedCluster, library, type TestCluster } from './embedded-cluster.js';

const WRITER = fileURLToPath(new URL('../../fixtures/rbd/image-writer.js', import.meta.url));
const M = 1 << 20;

interface Writer {
  proc: ChildProcess;
  lines: string[];
  /** Resolves with the first line matching, or rejects when the process exits first. */
  line(re: RegExp): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startWriter(c: TestCluster, image: string, o: { lockWaitMs: number; mode: 'once' | 'stream'; holdMs?: number; tag: string }): Writer {
  const proc = spawn(process.execPath, [WRITER, c.dataDir, c.key, 'rbd', image, String(o.lockWaitMs), o.mode, String(o.holdMs ?? 0), o.tag], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  const waiters: Array<{ re: RegExp; resolve: (l: string) => void; reject: (e: Error) => void }> = [];
  let buf = '';
  proc.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const l = buf.slice(0, i);
      buf = buf.slice(i + 1);
      lines.push(l);
      for (const w of [...waiters]) {
        if (w.re.test(l)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(l);
        }
      }
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.on('exit', (code, signal) => {
      for (const w of waiters.splice(0)) w.reject(new Error(`writer exited (${code ?? signal}) before ${w.re}; lines: ${lines.join(' | ')}`));
      resolve({ code, signal });
    });
  });
  const line = (re: RegExp) => {
    const seen = lines.find((l) => re.test(l));
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise<string>((resolve, reject) => waiters.push({ re, resolve, reject }));
  };
  return { proc, lines, line, exited };
}

async function lockInfo(cluster: Cluster, id: string) {
  const io = await cluster.ioctx('rbd');
  try {
    return await io.getLockInfo(`rbd_header.${id}`, LOCK_NAME);
  } finally {
    await io.close();
  }
}

t.test('two writer processes started together: exactly one gets the lock', async (t) => {
  const c = await embeddedCluster(t);
  const info = await library().createImage(c.cluster, 'rbd', 'img', { size: M, features: 1 | 4 });
  const a = startWriter(c, 'img', { lockWaitMs: 1000, mode: 'once', holdMs: 4000, tag: 'A' });
  const b = startWriter(c, 'img', { lockWaitMs: 1000, mode: 'once', holdMs: 4000, tag: 'B' });
  const [ea, eb] = await Promise.all([a.exited, b.exited]);
  const winners = [a, b].filter((w) => w.lines.some((l) => l.startsWith('locked ')));
  t.equal(winners.length, 1, `one winner (A: ${a.lines.join(' | ')}; B: ${b.lines.join(' | ')})`);
  const loser = winners[0] === a ? b : a;
  t.match(winners[0]!.lines, [/^locked \d+$/, /^closing \d+$/, 'closed']);
  t.equal(winners[0]!.lines.length, 3);
  t.match(loser.lines[0], /^error ERR_IMAGE_BUSY image rbd\/img is busy: its exclusive lock is held by client\.admin \(instance \d+\), a live client; gave up after 1 s$/);
  t.same([ea.code, eb.code].sort(), [0, 1]);
  const img = c.track(await library().openImage(c.cluster, 'rbd', 'img', { readOnly: true }));
  t.same(await img.read(0, 4096), Buffer.alloc(4096, winners[0] === a ? 'A' : 'B'), 'only the winner wrote');
  t.same((await lockInfo(c.cluster, info.id)).lockers, [], 'released at close');
});

t.test('a waiting writer gets the lock when the holder closes', async (t) => {
  const c = await embeddedCluster(t);
  await library().createImage(c.cluster, 'rbd', 'img', { size: M, features: 1 | 4 });
  const a = startWriter(c, 'img', { lockWaitMs: 1000, mode: 'once', holdMs: 1500, tag: 'A' });
  await a.line(/^locked /);
  const b = startWriter(c, 'img', { lockWaitMs: 30000, mode: 'once', holdMs: 0, tag: 'B' });
  const bLocked = Number((await b.line(/^locked /)).split(' ')[1]);
  const aClosing = Number((await a.line(/^closing /)).split(' ')[1]);
  t.ok(bLocked >= aClosing, 'B got the lock only after A started closing');
  t.same((await b.exited).code, 0);
  t.same((await a.exited).code, 0);
});

t.test('SIGKILL a writer mid-stream: the next process breaks the dead lock and all acked data reads back', async (t) => {
  const c = await embeddedCluster(t);
  const info = await library().createImage(c.cluster, 'rbd', 'img', { size: M, features: 1 | 4 | 64 });
  const a = startWriter(c, 'img', { lockWaitMs: 1000, mode: 'stream', tag: 'A' });
  await a.line(/^wrote 20$/);
  a.proc.kill('SIGKILL');
  const { signal } = await a.exited;
  t.equal(signal, 'SIGKILL');
  const acked = Math.max(...a.lines.filter((l) => l.startsWith('wrote ')).map((l) => Number(l.slice(6))));
  const dead = await lockInfo(c.cluster, info.id);
  t.equal(dead.lockers.length, 1, 'the dead writer still holds the lock');
  t.match(dead.lockers[0], { entity: 'client.admin', cookie: /^auto \d+$/ });
  t.equal(dead.tag, LOCK_TAG);
  t.ok(dead.exclusive);

  const b = startWriter(c, 'img', { lockWaitMs: 5000, mode: 'once', holdMs: 0, tag: 'B' });
  t.same(await b.exited, { code: 0, signal: null }, b.lines.join(' | '));
  t.match(b.lines, [/^locked /, /^closing /, 'closed']);
  const img = c.track(await library().openImage(c.cluster, 'rbd', 'img', { readOnly: true }));
  t.same(await img.read(0, 4096), Buffer.alloc(4096, 'B'));
  const last = Math.min(acked, 63);
  t.same(await img.read(4096, last * 4096), Buffer.alloc(last * 4096, 'A'), `A's ${last} acknowledged blocks after block 0 read back`);
  t.same((await lockInfo(c.cluster, info.id)).lockers, []);
});

t.test('in one process: a second handle waits, times out with EBUSY and wrote nothing', async (t) => {
  const c = await embeddedCluster(t);
  const lib = library({}, { lockWaitTimeoutMs: 300 });
  const info = await lib.createImage(c.cluster, 'rbd', 'img', { size: M, features: 1 | 4 });
  const c2 = await c.connect();
  const a = await lib.openImage(c.cluster, 'rbd', 'img');
  const b = c.track(await lib.openImage(c2, 'rbd', 'img'));
  await a.write(0, Buffer.from('a'));
  t.ok(a.lockOwner);
  const held = (await lockInfo(c.cluster, info.id)).lockers;
  t.match(held, [{ instanceId: c.cluster.instanceId }]);
  await t.rejects(b.write(0, Buffer.from('b')), { code: 'ERR_IMAGE_BUSY', errno: 'EBUSY' });
  await t.rejects(b.updateFeatures(64, true), { code: 'ERR_IMAGE_BUSY' });
  t.notOk(b.lockOwner);
  t.same(await b.read(0, 1), Buffer.from('a'), 'the refused write did not land');
  t.equal((await b.refresh()).features, 5, 'the refused feature change did not land');
  await a.close();
  await b.write(0, Buffer.from('b'));
  t.ok(b.lockOwner, 'free once the holder closed');
  t.match((await lockInfo(c.cluster, info.id)).lockers, [{ instanceId: c2.instanceId }]);
});

t.test('the released_lock notify wakes a waiter (no polling needed)', async (t) => {
  const c = await embeddedCluster(t);
  await library().createImage(c.cluster, 'rbd', 'img', { size: M, features: 1 | 4 });
  const c2 = await c.connect();
  const { id } = (await library().listImages(c.cluster, 'rbd'))[0]!;
  const oid = `rbd_header.${id}`;
  const io1 = c.track(await c.cluster.ioctx('rbd'));
  const io2 = c.track(await c2.ioctx('rbd'));
  let holder: ExclusiveLock | undefined;
  let waiter: ExclusiveLock | undefined;
  const w1 = c.track(await io1.watch(oid, () => undefined));
  const w2 = await io2.watch(oid, (m) => {
    if (JSON.parse(m.payload.toString()).op === 'released_lock') waiter?.released();
  });
  t.teardown(() => w2.close());
  holder = new ExclusiveLock(io1, oid, c.cluster.instanceId, () => w1.cookie, { timeoutMs: 1000, spec: 'rbd/img' });
  // Polling is off for the test's duration: only the notify can end the wait in time.
  waiter = new ExclusiveLock(io2, oid, c2.instanceId, () => w2.cookie, { timeoutMs: 60_000, pollMs: 60_000, spec: 'rbd/img' });
  await holder.acquire();
  const waiting = waiter.acquire();
  await new Promise((r) => setTimeout(r, 100));
  t.notOk(waiter.owner);
  await holder.release();
  await waiting;
  t.ok(waiter.owner);
  t.notOk(holder.owner);
  await waiter.release();
});

t.test('images without exclusive-lock take no lock: two writers both write', async (t) => {
  const c = await embeddedCluster(t);
  const lib = library({}, { lockWaitTimeoutMs: 100 });
  const info = await lib.createImage(c.cluster, 'rbd', 'img', { size: M, features: 1 });
  const c2 = await c.connect();
  const a = c.track(await lib.openImage(c.cluster, 'rbd', 'img'));
  const b = c.track(await lib.openImage(c2, 'rbd', 'img'));
  await a.write(0, Buffer.from('a'));
  await b.write(1, Buffer.from('b'));
  t.same(await a.read(0, 2), Buffer.from('ab'));
  t.same((await lockInfo(c.cluster, info.id)).lockers, []);
});

t.test('features: enabling exclusive-lock on an open handle locks the next write; disabling releases', async (t) => {
  const c = await embeddedCluster(t);
  const lib = library({}, { lockWaitTimeoutMs: 100 });
  const info = await lib.createImage(c.cluster, 'rbd', 'img', { size: M, features: 1 });
  const img = c.track(await lib.openImage(c.cluster, 'rbd', 'img'));
  await img.write(0, Buffer.from('x'));
  t.notOk(img.lockOwner);
  await img.updateFeatures(4, true);
  await img.write(0, Buffer.from('y'));
  t.ok(img.lockOwner, 'locked by the first write after the change');
  await img.updateFeatures(4, false);
  t.notOk(img.lockOwner, 'released with the feature');
  t.same((await lockInfo(c.cluster, info.id)).lockers, []);
});
