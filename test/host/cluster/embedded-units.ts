/**
 * The embedded backend's data file (unit-file.ts): whole chunks of large and of chunk-aligned
 * writes live there,
 * named by chunk rows; everything reads back as if stored inline; freed units wait out the
 * quarantine; a version-1 store is upgraded in place.
 */
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { Test } from 'tap';
import { B, rejectsWith } from './contract-harness.js';
import { chunkRows, readOnlyStore, withHarness } from './embedded-harness.js';


const KIB = 1024;

export function unitTests(t: Test): void {
  t.test('large writes: whole chunks in the data file, the rest inline, all reads back', (t) =>
    withHarness(t, async (h) => {
      await h.cluster.createPool('u');
      const io = await h.cluster.ioctx('u');
      const db = readOnlyStore(t, h);
      const big = randomBytes(1024 * KIB + 100);
      await io.write('o', big, 1000);
      const r = chunkRows(db, 'o');
      t.equal(r.units, 255, 'the 255 whole 4 KiB chunks of a 1 MiB write at offset 1000 name units');
      t.equal(r.inline, 2, 'its partial first and last chunks are inline');
      t.ok(statSync(join(h.dataDir, 'objects.data')).size >= 255 * 4 * KIB, 'the data file holds them');
      const model = Buffer.concat([Buffer.alloc(1000), big]);
      t.ok((await io.read('o')).equals(model), 'reads back whole');
      t.ok((await io.read('o', 4090, 20000)).equals(model.subarray(4090, 24090)), 'a read across inline and unit chunks');

      const patch = randomBytes(100);
      await io.write('o', patch, 300 * KIB + 7);
      patch.copy(model, 300 * KIB + 7);
      t.ok((await io.read('o')).equals(model), 'a small write into a unit chunk (read-modify-write into an inline row)');
      t.equal(chunkRows(db, 'o').units, 254, 'that chunk is inline now');

      await io.operate('o', { steps: [{ op: 'zero', offset: 500 * KIB + 10, length: 64 * KIB }] });
      model.fill(0, 500 * KIB + 10, 564 * KIB + 10);
      t.ok((await io.read('o')).equals(model), 'zero across unit chunks');

      await io.truncate('o', 700 * KIB + 5);
      t.ok((await io.read('o')).equals(model.subarray(0, 700 * KIB + 5)), 'truncate inside a unit chunk');
      t.equal((await io.stat('o')).size, 700 * KIB + 5);

      const freed = (db.prepare('SELECT count(*) AS n FROM free_units').get() as { n: number }).n;
      t.ok(freed > 70, `rewritten, zeroed and truncated-away unit chunks are on the free list (${freed})`);
      const end = () => (db.prepare("SELECT value FROM meta WHERE key = 'data_units'").get() as { value: number }).value;
      const before = end();
      const remaining = chunkRows(db, 'o').units;
      await io.remove('o');
      t.equal((db.prepare('SELECT count(*) AS n FROM free_units').get() as { n: number }).n, freed + remaining, `removing the object frees the rest (${remaining})`);
      await io.writeFull('p', Buffer.alloc(256 * KIB, 9));
      t.equal(end(), before + 64, 'just-freed units are not reused (quarantine): the file grows');
      t.ok((await io.read('p')).equals(Buffer.alloc(256 * KIB, 9)));
      await new Promise((r) => setTimeout(r, 3100));
      const settled = end();
      await io.writeFull('q', Buffer.alloc(256 * KIB, 5));
      t.equal(end(), settled, 'past the quarantine (2 s) freed units are reused: the file does not grow');
      t.ok((await io.read('q')).equals(Buffer.alloc(256 * KIB, 5)), 'the reused units read back');
      t.ok((await io.read('p')).equals(Buffer.alloc(256 * KIB, 9)), 'what another object names is untouched');
      await io.close();
    }),
  );

  t.test('reads across units, inline rows, short rows and holes: zeros exactly in the holes', (t) =>
    withHarness(t, async (h) => {
      await h.cluster.createPool('z');
      const io = await h.cluster.ioctx('z');
      const size = 96 * KIB;
      const model = Buffer.alloc(size);
      const put = async (data: Buffer, at: number) => {
        await io.write('mix', data, at);
        data.copy(model, at);
      };
      await put(randomBytes(8 * KIB), 0); // two unit chunks
      await put(randomBytes(100), 20 * KIB + 5); // a short inline row, holes around it
      await put(randomBytes(4 * KIB), 40 * KIB); // a unit chunk after a hole
      await put(randomBytes(6000), 44 * KIB + 1000); // inline rows next to the unit
      await put(randomBytes(64 * KIB), 28 * KIB); // a large write over some of them
      await io.truncate('mix', size); // and a hole at the end
      // Fill freed memory with non-zero bytes first, so a hole left unwritten would show.
      for (let i = 0; i < 50; i++) Buffer.allocUnsafeSlow(8 * KIB).fill(0xee);
      let wrong = 0;
      for (let off = 0; off < size; off += 1531) {
        for (const len of [1, 700, 4 * KIB, 9000, 40 * KIB]) {
          const got = await io.read('mix', off, len);
          if (!got.equals(model.subarray(off, Math.min(size, off + len)))) wrong++;
        }
      }
      t.equal(wrong, 0, 'every window reads as the model');
      t.ok((await io.read('mix')).equals(model), 'and the whole object');
      await io.close();
    }),
  );

  t.test('chunk-aligned small writes use the data file; unaligned ones (journal appends) stay inline', (t) =>
    withHarness(t, async (h) => {
      await h.cluster.createPool('a');
      const io = await h.cluster.ioctx('a');
      const db = readOnlyStore(t, h);
      const one = randomBytes(4 * KIB);
      await io.write('blk', one, 12 * KIB);
      t.same(chunkRows(db, 'blk'), { units: 1, inline: 0 }, 'an aligned 4 KiB write names one unit');
      await io.write('blk', randomBytes(8 * KIB), 40 * KIB);
      await io.write('blk', Buffer.alloc(4 * KIB), 80 * KIB);
      t.same(chunkRows(db, 'blk'), { units: 3, inline: 0 }, 'an aligned 8 KiB write names two; a zero chunk is a hole');
      const app = randomBytes(4 * KIB);
      await io.write('jrn', app, 100);
      t.same(chunkRows(db, 'jrn'), { units: 0, inline: 2 }, 'an unaligned 4 KiB append is two inline rows');
      t.ok((await io.read('blk', 12 * KIB, 4 * KIB)).equals(one), 'the aligned write reads back');
      t.ok((await io.read('jrn', 100, 4 * KIB)).equals(app), 'the append reads back');
      await io.close();
    }),
  );

  t.test('unit writes wait for the commit: the same transaction reads them, a rolled-back op\'s do not land', (t) =>
    withHarness(t, async (h) => {
      await h.cluster.createPool('d');
      const io = await h.cluster.ioctx('d');
      await io.write('w', Buffer.alloc(64 * KIB, 1), 0);
      const a = randomBytes(4 * KIB);
      const b = randomBytes(4 * KIB);
      const patch = randomBytes(100);
      // Submitted in one turn: one transaction (committer.ts).
      const failed = io.operate('w', { steps: [{ op: 'write', offset: 8 * KIB, data: a }, { op: 'create', exclusive: true }] });
      const wrote = io.write('w', b, 16 * KIB);
      const patched = io.write('w', patch, 16 * KIB + 100);
      const readBack = io.read('w', 16 * KIB, 4 * KIB);
      await rejectsWith(t, failed, 'EEXIST', undefined, 'the compound op fails after its write');
      await wrote;
      await patched;
      const expected = Buffer.from(b);
      patch.copy(expected, 100);
      t.ok((await readBack).equals(expected), 'a read in the same transaction sees the written and patched chunk');
      const c = await h.connect('client.admin', h.adminKey);
      const other = await c.ioctx('d');
      t.ok((await other.read('w', 16 * KIB, 4 * KIB)).equals(expected), 'another connection reads it from the file');
      t.ok((await other.read('w', 8 * KIB, 4 * KIB)).equals(Buffer.alloc(4 * KIB, 1)), 'the rolled-back write left nothing');
      // One read across units already in the file and one still waiting: a 64 KiB write (16
      // units, committed), then a 4 KiB one (the next unit, waiting), read in the same turn.
      const big = randomBytes(64 * KIB);
      const tail = randomBytes(4 * KIB);
      await io.write('mix', big, 0);
      const wroteTail = io.write('mix', tail, 64 * KIB);
      const mixed = io.read('mix', 1000, 68 * KIB - 1000);
      await wroteTail;
      t.ok((await mixed).equals(Buffer.concat([big, tail]).subarray(1000)), 'a read across written and waiting units, in the same transaction');
      // Large and small writes of one transaction, some rewriting what another wrote in it.
      const large = [randomBytes(1024 * KIB), randomBytes(256 * KIB), randomBytes(128 * KIB)];
      const rewrites = [randomBytes(4 * KIB), randomBytes(64 * KIB)];
      await Promise.all([
        io.write('large', large[0]!, 0), io.write('large', large[1]!, 2048 * KIB), io.write('large', large[2]!, 512 * KIB),
        io.write('large', rewrites[0]!, 1020 * KIB), io.write('large', rewrites[1]!, 2048 * KIB),
      ]);
      const expect = Buffer.alloc(2304 * KIB);
      large[0]!.copy(expect, 0);
      large[2]!.copy(expect, 512 * KIB);
      rewrites[0]!.copy(expect, 1020 * KIB);
      large[1]!.copy(expect, 2048 * KIB);
      rewrites[1]!.copy(expect, 2048 * KIB);
      t.ok((await other.read('large')).equals(expect), 'large writes and rewrites of one transaction read back from the file');
      const many = Array.from({ length: 300 }, (_, i) => randomBytes(4 * KIB).fill(i % 256, 0, 1));
      await Promise.all(many.map((d, i) => io.write('many', d, ((i * 7919) % 300) * 4 * KIB)));
      const whole = await other.read('many');
      t.equal(many.filter((d, i) => !whole.subarray(((i * 7919) % 300) * 4 * KIB, ((i * 7919) % 300 + 1) * 4 * KIB).equals(d)).length, 0,
        '300 4 KiB writes in one transaction, scattered: each reads back from the file');
      await other.close();
      await io.close();
    }),
  );

  t.test('large, aligned and small writes, truncates and zeroes against a model', (t) =>
    withHarness(t, async (h) => {
      await h.cluster.createPool('m');
      const io = await h.cluster.ioctx('m');
      let model = Buffer.alloc(0);
      let seed = 7;
      const rnd = (n: number) => {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        return seed % n;
      };
      const SPAN = 2 * 1024 * KIB;
      let bad = 0;
      for (let i = 0; i < 300; i++) {
        const kind = rnd(10);
        if (kind < 4) {
          const shape = rnd(3);
          // Large, chunk-aligned (units), or small and unaligned (inline).
          const len = shape === 0 ? 64 * KIB + rnd(300 * KIB) : shape === 1 ? (1 + rnd(4)) * 4 * KIB : 1 + rnd(9000);
          const off = shape === 1 ? rnd(SPAN / (4 * KIB)) * 4 * KIB : rnd(SPAN);
          const data = rnd(5) === 0 ? Buffer.alloc(len) : randomBytes(len);
          await io.write('x', data, off);
          if (model.length < off + len) model = Buffer.concat([model, Buffer.alloc(off + len - model.length)]);
          data.copy(model, off);
        } else if (kind < 6) {
          const size = rnd(SPAN);
          await io.truncate('x', size);
          model = size <= model.length ? Buffer.from(model.subarray(0, size)) : Buffer.concat([model, Buffer.alloc(size - model.length)]);
        } else if (kind < 8) {
          const off = rnd(SPAN);
          const len = rnd(200 * KIB);
          await io.operate('x', { steps: [{ op: 'zero', offset: off, length: len }] });
          if (off < model.length) model.fill(0, off, Math.min(model.length, off + len));
        } else {
          const off = rnd(SPAN);
          const len = rnd(400 * KIB);
          const got = await io.read('x', off, len);
          if (!got.equals(model.subarray(Math.min(off, model.length), Math.min(off + len, model.length)))) bad++;
        }
      }
      t.equal(bad, 0, 'every read matched the model');
      t.ok((await io.read('x')).equals(model), 'the whole object matches the model');
      await io.close();
    }),
  );

  t.test('a version-1 store (every chunk inline) is upgraded in place', (t) =>
    withHarness(t, async (h) => {
      await h.cluster.createPool('v1');
      const io = await h.cluster.ioctx('v1');
      // Not a whole number of chunks, so it is stored inline, as version 1 did.
      await io.writeFull('old', Buffer.alloc(40 * KIB + 1, 3));
      await io.close();
      await h.cluster.shutdown();
      const db = new Database(join(h.dataDir, 'store.db'));
      db.exec(`DROP TRIGGER chunks_unit_rewritten; DROP TRIGGER chunks_unit_deleted; DROP TABLE free_units;
        ALTER TABLE chunks DROP COLUMN unit; DELETE FROM meta WHERE key = 'data_units';
        UPDATE meta SET value = 1 WHERE key = 'schema_version';`);
      db.close();
      const c = await h.connect('client.admin', h.adminKey);
      const io2 = await c.ioctx('v1');
      t.ok((await io2.read('old')).equals(Buffer.alloc(40 * KIB + 1, 3)), 'old data reads back');
      await io2.writeFull('new', Buffer.alloc(512 * KIB, 4));
      t.ok((await io2.read('new')).equals(Buffer.alloc(512 * KIB, 4)), 'a large write works after the upgrade');
      const check = new Database(join(h.dataDir, 'store.db'), { readonly: true });
      t.equal((check.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as { value: number }).value, 2, 'schema version 2');
      t.equal(chunkRows(check, 'new').units, 128, 'and it used the data file');
      check.close();
      await io2.close();
      await c.shutdown();
    }),
  );
}
