/**
 * Embedded backend with real processes: concurrent writers, SIGKILL mid-stream, notify
 * into this process, and processes that must exit on their own.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import type { Test } from 'tap';
import { opPayload, overwritePayload, RECORD } from '../../fixtures/store/records.js';
import { ChildLines, exited, type StoreHarness } from './contract-harness.js';
import { withHarness } from './embedded-harness.js';


async function run(h: StoreHarness, fixture: string, args: string[]): Promise<ChildLines> {
  const child = h.spawnClient(fixture, args);
  const lines = new ChildLines(child);
  const { code, signal } = await exited(child);
  if (code !== 0) throw new Error(`${fixture} exited ${code ?? signal}: ${lines.stderr}`);
  return lines;
}

export function multiProcessTests(t: Test): void {
  t.test('two processes write the same objects concurrently', { timeout: 120_000 }, (t) =>
    withHarness(t, async (h) => {
      await h.cluster.createPool('mp');
      const setup = await h.cluster.ioctx('mp');
      await setup.omapSet('ctr', new Map([['n', Buffer.from('0')]]));
      await setup.close();
      const count = 150;
      const [a, b] = await Promise.all([run(h, 'writer', ['mp', 'A', String(count)]), run(h, 'writer', ['mp', 'B', String(count)])]);
      t.comment(`${a.lines[0]}; ${b.lines[0]}`);
      const io = await h.cluster.ioctx('mp');
      const log = await io.read('log');
      t.equal(log.length, 2 * count * RECORD, 'every append landed, none overlapped');
      const records = new Set<string>();
      for (let off = 0; off < log.length; off += RECORD) records.add(log.subarray(off, off + RECORD).toString().trimEnd());
      const want = new Set<string>();
      for (let i = 0; i < count; i++) want.add(`A:${i}`).add(`B:${i}`);
      t.same(records, want, 'each record intact, exactly once');
      t.same((await io.omapGetValsByKeys('ctr', ['n'])).get('n')?.toString(), String(2 * count), 'compare-and-swap counter lost no increment');
      t.equal((await io.omapGetVals('keys')).entries.size, 2 * count, 'every omap key');
      await io.close();
    }),
  );

  t.test('SIGKILL during a stream of compound writes loses no acknowledged op', { timeout: 120_000 }, (t) =>
    withHarness(t, async (h) => {
      await h.cluster.createPool('crash');
      const child = h.spawnClient('op-stream', ['crash']);
      const out = new ChildLines(child);
      await out.waitForCount(/^ack \d+$/, 500, 60_000);
      child.kill('SIGKILL');
      await exited(child);
      const acked = out.lines.filter((l) => l.startsWith('ack ')).map((l) => Number(l.slice(4)));
      t.ok(acked.length >= 500, `${acked.length} ops acknowledged before the kill`);

      const db = new Database(join(h.dataDir, 'store.db'), { readonly: true });
      t.equal(db.pragma('integrity_check', { simple: true }), 'ok', 'the database is intact');
      db.close();

      const fresh = await h.connect('client.admin', h.adminKey);
      const io = await fresh.ioctx('crash');
      const journal = (await io.read('journal')).toString();
      const inJournal = new Set(journal.match(/.{16}/g)!.map((r) => Number(r.trim())));
      let bad = 0;
      for (const n of acked) {
        const [data, seq, omap] = await io.operateRead(`op.${n}`, {
          steps: [{ op: 'read', offset: 0, length: 1 << 20 }, { op: 'getxattr', name: 'seq' }, { op: 'omap_get_vals' }],
        });
        const ok = data?.op === 'read' && data.data.equals(opPayload(n)) &&
          seq?.op === 'getxattr' && seq.value.toString() === String(n) &&
          omap?.op === 'omap_get_vals' && omap.entries.get('seq')?.toString() === String(n) && inJournal.has(n);
        if (!ok) bad++;
      }
      t.equal(bad, 0, `all ${acked.length} acknowledged ops are there, whole`);
      // Ops in flight at the kill may or may not have committed, but never in part.
      let partial = 0;
      for await (const oid of io.listObjects({ prefix: 'op.' })) {
        const n = Number(oid.slice(3));
        const [data, xattrs, omap] = await io.operateRead(oid, {
          steps: [{ op: 'read', offset: 0, length: 1 << 20 }, { op: 'getxattrs' }, { op: 'omap_get_vals' }],
        });
        const whole = data?.op === 'read' && data.data.equals(opPayload(n)) &&
          xattrs?.op === 'getxattrs' && xattrs.xattrs.get('seq')?.toString() === String(n) &&
          omap?.op === 'omap_get_vals' && omap.entries.get('seq')?.toString() === String(n);
        if (!whole) partial++;
      }
      t.equal(partial, 0, 'no op is half-applied');
      await io.close();
    }),
  );

  t.test('SIGKILL while large writes keep rewriting objects: each is one whole acknowledged version or a later one', { timeout: 120_000 }, (t) =>
    withHarness(t, async (h) => {
      await h.cluster.createPool('ow');
      const objects = 4;
      const child = h.spawnClient('overwrite-stream', ['ow', String(objects)]);
      const out = new ChildLines(child);
      // Well past the data file's reuse quarantine (2 s), so freed units are being rewritten.
      await new Promise((r) => setTimeout(r, 6_000));
      await out.waitForCount(/^ack \d+ \d+$/, 40, 60_000);
      child.kill('SIGKILL');
      await exited(child);
      const lastAcked = new Map<number, number>();
      for (const l of out.lines) {
        const m = /^ack (\d+) (\d+)$/.exec(l);
        if (m) lastAcked.set(Number(m[1]), Math.max(lastAcked.get(Number(m[1])) ?? -1, Number(m[2])));
      }
      const db = new Database(join(h.dataDir, 'store.db'), { readonly: true });
      t.equal(db.pragma('integrity_check', { simple: true }), 'ok', 'the database is intact');
      const reused = (db.prepare("SELECT value FROM meta WHERE key = 'data_units'").get() as { value: number }).value;
      db.close();
      t.comment(`${[...lastAcked.values()].reduce((a, b) => a + b + 1, 0)} versions acknowledged; data file end at unit ${reused}`);

      const fresh = await h.connect('client.admin', h.adminKey);
      const io = await fresh.ioctx('ow');
      for (let k = 0; k < objects; k++) {
        const data = await io.read(`ow.${k}`);
        const v = data.length >= 8 ? data.readUInt32LE(4) : -1;
        const acked = lastAcked.get(k) ?? -1;
        t.ok(v >= acked && v <= acked + 1, `ow.${k}: version ${v}, last acknowledged ${acked}`);
        t.ok(data.equals(overwritePayload(k, v)), `ow.${k}: all of version ${v}, nothing of another version or object`);
      }
      await io.close();
    }),
  );

  t.test('a notify from another process reaches a watch in this one', { timeout: 60_000 }, (t) =>
    withHarness(t, async (h) => {
      await h.cluster.createPool('n');
      const io = await h.cluster.ioctx('n');
      await io.writeFull('o', Buffer.alloc(0));
      const got: string[] = [];
      const w = await io.watch('o', (m) => {
        got.push(`${m.notifierId}:${m.payload.toString()}`);
        return Buffer.from('pong');
      });
      const out = await run(h, 'notifier', ['n', 'o', 'ping']);
      const res = JSON.parse(out.lines[0]!) as { instanceId: string; acks: unknown[]; timeouts: unknown[] };
      t.same(res.acks, [{ instanceId: h.cluster.instanceId, cookie: w.cookie, reply: 'pong' }], 'acked with our reply');
      t.same(got, [`${res.instanceId}:ping`], 'our callback ran with the notifier id and payload');
      await w.close();
      await io.close();
    }),
  );

  for (const mode of ['shutdown', 'leave'] as const) {
    t.test(`a process with a watch exits by itself (${mode})`, { timeout: 60_000 }, (t) =>
      withHarness(t, async (h) => {
        await h.cluster.createPool('idle');
        const io = await h.cluster.ioctx('idle');
        await io.writeFull('o', Buffer.alloc(0));
        const out = await run(h, 'idle-watch', ['idle', 'o', mode]);
        t.same(out.lines, ['watching'], 'it watched, then exited 0 with nothing left holding it');
        t.same(await io.listWatchers('o'), [], mode === 'shutdown' ? 'shutdown removed its watch' : 'its dead watch is pruned');
        await io.close();
      }),
    );
  }
}
