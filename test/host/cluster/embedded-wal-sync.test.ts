/**
 * The embedded store acknowledges a write only once its transaction is on stable storage,
 * and the WAL's fdatasync runs on the thread pool, not the main thread (wal-sync.ts).
 * Checked on a real process's system calls: strace of a writer that prints `acked N` with
 * one write(2) as each write resolves.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { WalSync } from '../../../host/cluster/embedded/wal-sync.js';
import { CONNECT_ENV, type ConnectSpec } from '../../fixtures/store/connect-env.js';
import { fixturePath, withHarness } from './embedded-harness.js';

const STRACE = ['/usr/bin/strace', '/bin/strace'].find((p) => existsSync(p));

interface Event { pid: number; kind: 'wal-write' | 'wal-sync-done' | 'ack'; n?: number }

/** The trace's WAL writes, completed WAL syncs and acks, in order; the main thread's syncs after the first ack. */
function parseTrace(text: string, total: number): { events: Event[]; mainPid: number; mainSyncs: number } {
  const events: Event[] = [];
  const unfinishedSync = new Set<number>();
  let mainSyncs = 0;
  let mainPid = 0;
  let acks = 0;
  for (const line of text.split('\n')) {
    const m = /^(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const pid = Number(m[1]);
    const call = m[2]!;
    if (/^execve\(/.test(call) && !mainPid) mainPid = pid;
    if (/^(pwrite64|write|writev|pwritev)\(\d+<[^>]*-wal>/.test(call)) events.push({ pid, kind: 'wal-write' });
    const ack = /^write\(1<[^>]*>, "acked (\d+)\\n"/.exec(call);
    if (ack) {
      events.push({ pid, kind: 'ack', n: Number(ack[1]) });
      acks++;
    }
    if (/^f(data)?sync\(\d+<[^>]*-wal>/.test(call)) {
      // Connecting (the instance counter's UPDATE) and the last close sync on the main thread.
      if (pid === mainPid && acks > 0 && acks < total) mainSyncs++;
      if (/<unfinished \.\.\.>$/.test(call)) unfinishedSync.add(pid);
      else if (/= 0$/.test(call)) events.push({ pid, kind: 'wal-sync-done' });
    }
    if (/^<\.\.\. f(data)?sync resumed>.*= 0$/.test(call) && unfinishedSync.delete(pid)) events.push({ pid, kind: 'wal-sync-done' });
  }
  return { events, mainPid, mainSyncs };
}

t.test('a write is acknowledged after an fdatasync of the WAL that followed its commit, made off the main thread', (t) =>
  withHarness(t, async (h) => {
    if (!STRACE) {
      t.fail('strace is not installed (.ci/apt-packages.d/trace.txt)');
      return;
    }
    await h.cluster.createPool('acks');
    const trace = join(h.dir, 'trace.txt');
    const spec: ConnectSpec = {
      module: new URL('../../../host/cluster/embedded/index.js', import.meta.url).href,
      exportName: 'embeddedBackend',
      opts: h.connectOptions('client.admin', h.adminKey),
    };
    const r = spawnSync(STRACE!, ['-f', '-y', '-qq', '-e', 'trace=execve,write,pwrite64,writev,pwritev,fsync,fdatasync', '-o', trace,
      process.execPath, fixturePath('acked-writes'), 'acks', '200', '8'], {
      env: { ...process.env, [CONNECT_ENV]: JSON.stringify(spec) }, encoding: 'utf8', timeout: 120_000,
    });
    t.equal(r.status, 0, `writer exits 0 ${r.stderr}`);
    t.equal(r.stdout.split('\n').filter((l) => l.startsWith('acked ')).length, 200, 'every write acknowledged');
    const { events, mainPid, mainSyncs } = parseTrace(readFileSync(trace, 'utf8'), 200);
    const acks = events.filter((e) => e.kind === 'ack');
    t.equal(acks.length, 200, 'the trace shows every ack');
    // Every ack comes after a completed WAL sync that itself came after the WAL was last
    // written before the ack: the commit holding that write was synced.
    let lastWrite = -1;
    let syncedUpTo = -1;
    let unsafe = 0;
    events.forEach((e, i) => {
      if (e.kind === 'wal-write') lastWrite = i;
      else if (e.kind === 'wal-sync-done') syncedUpTo = i;
      else if (syncedUpTo < lastWrite) unsafe++;
    });
    t.equal(unsafe, 0, 'no ack while the WAL holds unsynced frames');
    const syncs = events.filter((e) => e.kind === 'wal-sync-done').length;
    t.ok(syncs > 0 && syncs < 200, `writes share WAL syncs (${syncs} for 200 acks at depth 8)`);
    t.ok(mainPid > 0, 'the trace names the main thread');
    t.equal(mainSyncs, 0, 'between the first and the last ack, the main thread never syncs the WAL');
    t.same((await (await h.cluster.ioctx('acks')).read('obj-199')), Buffer.alloc(512, 199 % 251), 'the last write is there');
  }),
);

t.test('WalSync: one fdatasync at a time, the next shared by everyone who asked meanwhile', (t) =>
  withHarness(t, async (h) => {
    const io = await h.cluster.ioctx((await h.cluster.createPool('w')).name);
    await io.writeFull('x', Buffer.from('makes the WAL'));
    const w = new WalSync(join(h.dataDir, 'store.db-wal'));
    t.equal(w.settled(), undefined, 'nothing to wait for before the first sync');
    const first = w.sync();
    const second = w.sync();
    const third = w.sync();
    t.not(first, second, 'a sync asked for while one runs gets the next one');
    t.equal(second, third, 'which all later askers share');
    const settled = w.settled();
    t.ok(settled, 'settled() waits while syncs are pending');
    await Promise.all([first, second, settled]);
    t.equal(w.settled(), undefined, 'and is undefined again after');
    await w.sync();
    await w.close();
  }),
);

t.test('a WAL that cannot be synced fails the writes with EIO', async (t) => {
  const w = new WalSync('/nonexistent/rbdm/store.db-wal');
  await t.rejects(w.sync(), { code: 'ERR_SYS_EIO', errno: 'EIO', message: /syncing the write-ahead log.*\(5\) Input\/output error/ });
  await w.close();
});
