// Pure parts: CRC32C, Ceph's entry framing (a flipped byte is detected, never decoded as an
// entry), event payloads against their JSON schemas, write splitting, the worker functions.
import t from 'tap';
import { Value } from '@sinclair/typebox/value';
import { CRC32C_IMPL, crc32c, crc32cJs } from '../../../modules/journaling/crc32c.js';
import { decodeObject, encodeEntry, ENTRY_OVERHEAD } from '../../../modules/journaling/entry-codec.js';
import { decodeEvent, encodeEvent, toJournalEvents } from '../../../modules/journaling/event-codec.js';
import { crc32cBatch, decodeObjects } from '../../../modules/journaling/journal.worker.js';
import { JournalEvent } from '../../../schemas/journal-events.js';

for (const [impl, crc] of [['crc32c', crc32c], ['crc32cJs', crc32cJs]] as const) {
  t.test(`CRC32C (${impl}): the standard check value, Ceph seed convention, incremental`, async (t) => {
    const check = Buffer.from('123456789');
    t.equal((crc(check, 0xffffffff) ^ 0xffffffff) >>> 0, 0xe3069283, 'CRC-32C check value (RFC 3720)');
    t.equal((crc(Buffer.alloc(32), 0xffffffff) ^ 0xffffffff) >>> 0, 0x8a9136aa, '32 zero bytes (RFC 3720 B.4)');
    const big = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 7) & 0xff));
    t.equal(crc(big.subarray(500), crc(big.subarray(0, 500))), crc(big), 'continuing from a seed equals one pass');
    t.equal(crc(big, 0, 3, 11), crc(big.subarray(3, 11)), 'ranges');
    t.equal(crc(new Uint8Array(big.buffer, big.byteOffset + 100, 50)), crc(big.subarray(100, 150)), 'a plain Uint8Array view');
    t.equal(crc(Buffer.alloc(0)), 0, "Ceph's seed 0 over nothing is 0");
  });
}

t.test('CRC32C: the native addon loads here and agrees with the JS tables', async (t) => {
  t.equal(CRC32C_IMPL, 'native', '@node-rs/crc32 has a build for linux x64 glibc');
  const data = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 2654435761) >>> 24));
  for (const len of [0, 1, 7, 8, 9, 63, 4096, 4137, 65_536, 70_000]) {
    for (const seed of [0, 1, 0xffffffff, 0x12345678]) {
      const start = len % 5;
      const end = Math.min(data.length, start + len);
      t.equal(crc32c(data, seed, start, end), crc32cJs(data, seed, start, end), `len ${len} seed ${seed.toString(16)}`);
    }
  }
});

t.test('entry framing: round trip, Ceph layout, every flipped byte detected', async (t) => {
  const payload = Buffer.from('hello journal');
  const f = encodeEntry(3, 4161, payload);
  t.equal(f.length, ENTRY_OVERHEAD + payload.length);
  t.equal(f.readBigUInt64LE(0), 0x3141592653589793n, 'preamble');
  t.equal(f.readUInt8(8), 1, 'version');
  t.equal(f.readBigUInt64LE(9), 4161n, 'entry tid');
  t.equal(f.readBigUInt64LE(17), 3n, 'tag tid');
  t.equal(f.readUInt32LE(f.length - 4), crc32c(f.subarray(0, f.length - 4)), 'crc over preamble..data');
  const two = Buffer.concat([f, encodeEntry(3, 4165, Buffer.from('second'))]);
  const ok = decodeObject(two, 7);
  t.same(ok.entries.map((e) => [e.tagTid, e.entryTid, e.objectNumber, Buffer.from(e.payload).toString()]), [[3, 4161, 7, 'hello journal'], [3, 4165, 7, 'second']]);
  t.same([ok.corrupt, ok.tornBytes], [[], 0]);
  for (let i = 0; i < f.length; i++) {
    const bad = Buffer.from(two);
    bad[i] = bad[i]! ^ 0x01;
    const d = decodeObject(bad, 7);
    if (d.entries.some((e) => e.entryTid === 4161 && Buffer.from(e.payload).equals(payload))) t.fail(`flip at byte ${i} went unnoticed`);
    if (d.corrupt.length + (d.tornBytes ? 1 : 0) === 0) t.fail(`flip at byte ${i} not reported`);
    if (!d.entries.some((e) => e.entryTid === 4165)) t.fail(`flip at byte ${i} lost the next entry`);
  }
  t.pass('each of the first entry\'s bytes flipped: reported, not decoded, the next entry still read');
});

t.test('a torn tail is a tear, not corruption; garbage is corruption', async (t) => {
  const a = encodeEntry(1, 0, Buffer.from('a'));
  const b = encodeEntry(1, 1, Buffer.alloc(100, 1));
  const torn = decodeObject(Buffer.concat([a, b.subarray(0, 50)]), 0);
  t.same([torn.entries.length, torn.corrupt.length, torn.tornBytes], [1, 0, 50]);
  const junk = decodeObject(Buffer.concat([a, Buffer.from('xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx')]), 0);
  t.same([junk.entries.length, junk.corrupt.length], [1, 1]);
});

t.test('events: payloads match the JSON schemas, writes split at the maximum payload', async (t) => {
  const data = Buffer.alloc(40 * 1024, 7);
  const evs = toJournalEvents({ type: 'write', offset: 4096, length: data.length, data }, 16 * 1024, 1)!;
  t.same(evs.map((e) => [e.head.type, (e.head as { offset: number }).offset, (e.head as { length: number }).length]),
    [['write', 4096, 16384], ['write', 20480, 16384], ['write', 36864, 8192]], '16 KiB pieces (rbd_journal_max_payload_bytes)');
  const all = [
    ...evs,
    ...toJournalEvents({ type: 'discard', offset: 0, length: 10 }, 16384)!,
    ...toJournalEvents({ type: 'write_zeroes', offset: 5, length: 10 }, 16384)!,
    ...toJournalEvents({ type: 'flush' }, 16384)!,
    ...toJournalEvents({ type: 'resize', size: 10, oldSize: 20 }, 16384)!,
    ...toJournalEvents({ type: 'update_features', features: 8, enabled: true, oldFeatures: 4, newFeatures: 12 }, 16384)!,
    { head: { type: 'demote' as const, timestamp: 1 } },
    { head: { type: 'snap_create' as const, snap_name: 's', timestamp: 1 } },
  ];
  for (const e of all) {
    t.ok(Value.Check(JournalEvent, e.head), `${e.head.type} matches the schema`);
    const d = decodeEvent(encodeEvent(e.head, 'data' in e ? e.data : undefined));
    t.ok(d.ok && JSON.stringify(d.event.head) === JSON.stringify(e.head), `${e.head.type} round trip`);
  }
  t.equal(toJournalEvents({ type: 'update_features', features: 64, enabled: true, oldFeatures: 4, newFeatures: 68 }, 16384), undefined,
    'the journaling bit itself is the journal\'s creation, not an event');
  const bad = decodeEvent(encodeEvent({ type: 'write', offset: 0, length: 5, timestamp: 1 }, Buffer.from('abc')));
  t.same(bad, { ok: false, message: 'write event carries 3 bytes, not 5' });
  t.match(decodeEvent(Buffer.from('\u0003\u0000\u0000\u0000{"t')), { ok: false });
});

t.test('worker functions return values, never throw', async (t) => {
  const r = crc32cBatch({ buffers: [Buffer.from('123456789'), Buffer.alloc(0)], seed: 0xffffffff });
  t.same(r, { ok: true, value: [(0xe3069283 ^ 0xffffffff) >>> 0, 0xffffffff] });
  const frame = encodeEntry(2, 0, encodeEvent({ type: 'write', offset: 0, length: 3, timestamp: 5 }, Buffer.from('abc')));
  const broken = Buffer.from(frame);
  broken[frame.length - 10] = broken[frame.length - 10]! ^ 0xff;
  const d = decodeObjects({ objects: [{ objectNumber: 0, data: frame }, { objectNumber: 1, data: broken }] });
  t.ok(d.ok);
  if (d.ok) {
    t.equal(d.value.entries.length, 1);
    t.same(Buffer.from(d.value.entries[0]!.data!).toString(), 'abc');
    t.match(d.value.corrupt, [{ objectNumber: 1, reason: 'CRC32C mismatch', tagTid: 2, entryTid: 0 }]);
  }
});
