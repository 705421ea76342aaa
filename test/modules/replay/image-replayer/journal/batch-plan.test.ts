// The batch plan applied in any order equals the events applied one by one: random
// overlapping writes, discards and write_zeroes on a small buffer, many seeds.
import t from 'tap';
import { assemble, planBatch, type PlannedOp, type RangedEvent } from '../../../../../modules/replay/image-replayer/journal/batch-plan.js';

type Ev = RangedEvent & { data?: Uint8Array };

/** The plan's ops with their bytes, as the replayer builds them. */
function withData(ops: PlannedOp[], evs: readonly Ev[]): Ev[] {
  return ops.map((o) => (o.type === 'write' ? { type: 'write', offset: o.offset, length: o.length, data: assemble(o.parts, evs.map((e) => e.data)) } : o));
}

function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return (n: number) => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return (x >>> 8) % n;
  };
}

function applyAll(size: number, evs: readonly Ev[]): Uint8Array {
  const b = new Uint8Array(size).fill(0xee);
  for (const e of evs) {
    if (e.type === 'write') b.set(e.data!, e.offset);
    else b.fill(0, e.offset, e.offset + e.length);
  }
  return b;
}

t.test('plan == sequential replay, and its ops never overlap', async (t) => {
  for (let seed = 1; seed <= 300; seed++) {
    const r = rng(seed);
    const size = 4096;
    const evs: Ev[] = [];
    for (let i = 0, n = 1 + r(40); i < n; i++) {
      const offset = r(size - 1);
      const length = 1 + r(Math.min(600, size - offset));
      const k = r(4);
      evs.push(k < 2 ? { type: 'write', offset, length, data: Uint8Array.from({ length }, () => r(256)) }
        : { type: k === 2 ? 'discard' : 'write_zeroes', offset, length });
    }
    const ops = withData(planBatch(evs), evs);
    const sorted = [...ops].sort((a, b) => a.offset - b.offset);
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i - 1]!.offset + sorted[i - 1]!.length > sorted[i]!.offset) t.fail(`seed ${seed}: ops overlap`);
    }
    // Reversed order: the ops commute.
    const got = applyAll(size, [...ops].reverse());
    if (!Buffer.from(got).equals(Buffer.from(applyAll(size, evs)))) t.fail(`seed ${seed}: plan differs from sequential replay`);
  }
  t.pass('300 random batches');
});

t.test('adjacent writes merge into one; zero kinds stay apart', async (t) => {
  const w = (offset: number, length: number): Ev => ({ type: 'write', offset, length, data: new Uint8Array(length).fill(offset % 251) });
  const ops = planBatch([w(0, 16), w(16, 16), w(32, 16), { type: 'discard', offset: 100, length: 10 }, { type: 'write_zeroes', offset: 110, length: 10 }]);
  t.same(ops.map((o) => [o.type, o.offset, o.length]), [['write', 0, 48], ['discard', 100, 10], ['write_zeroes', 110, 10]]);
});
