/**
 * Contract: object data, stat, versions, xattrs, size limits, large objects.
 */
import type { Test } from 'tap';
import { MAX_OBJECT_SIZE, MAX_WRITE_SIZE, type IoCtx } from '../../../host/cluster/store.js';
import { B, poolTest, rejectsWith, rng, type StoreHarness } from './contract-harness.js';

async function version(io: IoCtx, oid: string): Promise<number> {
  return (await io.stat(oid)).version;
}

export function objectContract(t: Test, h: () => StoreHarness): void {
  poolTest(t, h, 'write, read, short reads and zero-fill', async (t, { io }) => {
    await io.write('o', B('hello'), 0);
    t.same(await io.read('o'), B('hello'), 'read back');
    t.same(await io.read('o', 3, 100), B('lo'), 'read past the end is short');
    t.same(await io.read('o', 10, 5), B(''), 'read beyond the end is empty');
    t.same(await io.read('o', 1, 0), B(''), 'zero-length read');
    await io.write('o', B('x'), 8);
    t.same(await io.read('o'), Buffer.concat([B('hello'), Buffer.alloc(3), B('x')]), 'gap is zero-filled');
    t.equal((await io.stat('o')).size, 9);
    await io.write('o', B('EL'), 1);
    t.same(await io.read('o', 0, 5), B('hELlo'), 'overwrite in place');
  });

  poolTest(t, h, 'write_full, append, truncate, zero, remove', async (t, { io }) => {
    await io.writeFull('o', B('abcdef'));
    await io.writeFull('o', B('ab'));
    t.same(await io.read('o'), B('ab'), 'write_full replaces and shrinks');
    await io.append('o', B('cd'));
    t.same(await io.read('o'), B('abcd'), 'append');
    await io.truncate('o', 1);
    await io.truncate('o', 4);
    t.same(await io.read('o'), B('a\0\0\0'), 'truncate down then up reads zeros');
    await io.writeFull('o', B('abcdef'));
    await io.operate('o', { steps: [{ op: 'zero', offset: 1, length: 2 }] });
    t.same(await io.read('o'), B('a\0\0def'), 'zero a range');
    await io.operate('o', { steps: [{ op: 'zero', offset: 4, length: 100 }] });
    t.same(await io.read('o'), B('a\0\0d\0\0'), 'zero past the end keeps the size');
    await io.operate('o', { steps: [{ op: 'create', exclusive: false }] });
    t.same(await io.read('o'), B('a\0\0d\0\0'), 'non-exclusive create of an existing object is a no-op');
    await io.remove('o');
    await rejectsWith(t, io.stat('o'), 'ENOENT', 'ERR_OBJECT_NOT_FOUND', 'stat after remove');
    await rejectsWith(t, io.read('o'), 'ENOENT', 'ERR_OBJECT_NOT_FOUND', 'read after remove');
    await rejectsWith(t, io.remove('o'), 'ENOENT', 'ERR_OBJECT_NOT_FOUND', 'remove of a missing object');
    await io.truncate('gone', 10);
    await io.operate('gone', { steps: [{ op: 'zero', offset: 0, length: 10 }] });
    await rejectsWith(t, io.stat('gone'), 'ENOENT', undefined, 'truncate and zero do not create an object');
    await io.operate('empty', { steps: [{ op: 'create', exclusive: true }] });
    t.same(await io.stat('empty').then((s) => s.size), 0, 'create makes an empty object');
    await io.writeFull('empty', B(''));
    t.same(await io.read('empty'), B(''), 'write_full of nothing');
  });

  poolTest(t, h, 'random writes across chunk boundaries match a byte model', async (t, { io }) => {
    const r = rng(20261125);
    let model = Buffer.alloc(0);
    const grow = (n: number) => {
      if (n > model.length) model = Buffer.concat([model, Buffer.alloc(n - model.length)]);
    };
    const data = (n: number) => {
      // One in four writes is all zeros: holes must read back as zeros, like data.
      const b = Buffer.alloc(n);
      if (r(4) !== 0) for (let i = 0; i < n; i++) b[i] = 1 + r(255);
      return b;
    };
    for (let i = 0; i < 150; i++) {
      const kind = r(6);
      const off = r(300_000);
      const len = r(70_000);
      if (kind === 0 || kind === 1) {
        const d = data(len + 1);
        await io.write('f', d, off);
        grow(off + d.length);
        d.copy(model, off);
      } else if (kind === 2) {
        const d = data(r(200_000));
        await io.writeFull('f', d);
        model = Buffer.from(d);
      } else if (kind === 3) {
        const d = data(len);
        await io.append('f', d);
        model = Buffer.concat([model, d]);
      } else if (kind === 4) {
        await io.truncate('f', off);
        if (off < model.length) model = model.subarray(0, off);
        else grow(off);
      } else {
        await io.operate('f', { steps: [{ op: 'zero', offset: off, length: len }] });
        if (off < model.length) model.fill(0, off, Math.min(model.length, off + len));
      }
      const got = await io.read('f');
      if (!got.equals(model)) {
        t.fail(`step ${i} (kind ${kind}, off ${off}, len ${len}): ${got.length} bytes read, model ${model.length}`);
        return;
      }
    }
    t.pass('150 random operations read back as the model');
    t.same(await io.read('f', 12_345, 54_321), model.subarray(12_345, 12_345 + 54_321), 'an unaligned range read');
  });

  poolTest(t, h, 'stat and versions', async (t, { io }) => {
    const before = Date.now();
    await io.write('v', B('1'), 0);
    const s1 = await io.stat('v');
    t.equal(s1.size, 1);
    t.ok(s1.mtime >= before - 1000 && s1.mtime <= Date.now() + 1000, 'mtime is now');
    await io.write('v', B('2'), 0);
    const v2 = await version(io, 'v');
    t.ok(v2 > s1.version, 'a write increases the version');
    await io.read('v');
    t.equal(await version(io, 'v'), v2, 'a read does not');
    await io.setXattr('v', 'a', B('x'));
    const v3 = await version(io, 'v');
    t.ok(v3 > v2, 'setxattr increases it');
    await io.omapSet('v', new Map([['k', B('v')]]));
    const v4 = await version(io, 'v');
    t.ok(v4 > v3, 'omap_set increases it');
    await rejectsWith(t, io.operate('v', { guards: [{ op: 'assert_version', version: v4 + 100 }], steps: [{ op: 'write', offset: 0, data: B('z') }] }), 'ECANCELED');
    t.equal(await version(io, 'v'), v4, 'a failed op does not');
    await io.remove('v');
    await io.write('v', B('again'), 0);
    t.ok((await version(io, 'v')) > v4, 'a re-created object continues above its old version');
  });

  poolTest(t, h, 'xattrs', async (t, { io }) => {
    await io.setXattr('x', 'one', B('1'));
    await io.setXattr('x', 'two', B(''));
    t.same(await io.read('x'), B(''), 'setxattr creates an empty object');
    t.same(await io.getXattr('x', 'one'), B('1'));
    t.same(await io.getXattr('x', 'two'), B(''), 'empty value');
    t.same(await io.getXattrs('x'), new Map([['one', B('1')], ['two', B('')]]));
    await io.setXattr('x', 'one', B('uno'));
    t.same(await io.getXattr('x', 'one'), B('uno'), 'overwrite');
    await rejectsWith(t, io.getXattr('x', 'nope'), 'ENODATA', undefined, 'missing xattr');
    await io.rmXattr('x', 'one');
    await io.rmXattr('x', 'never-set');
    t.same(await io.getXattrs('x'), new Map([['two', B('')]]), 'rmxattr');
    await rejectsWith(t, io.getXattr('missing', 'a'), 'ENOENT', 'ERR_OBJECT_NOT_FOUND');
    await rejectsWith(t, io.getXattrs('missing'), 'ENOENT', 'ERR_OBJECT_NOT_FOUND');
    await rejectsWith(t, io.rmXattr('missing', 'a'), 'ENOENT', 'ERR_OBJECT_NOT_FOUND');
    await rejectsWith(t, io.stat('missing'), 'ENOENT', 'ERR_OBJECT_NOT_FOUND', 'rmxattr created nothing');
  });

  poolTest(t, h, 'size limits: EFBIG, state unchanged', async (t, { io }) => {
    await io.write('big', B('keep'), 0);
    const v = await version(io, 'big');
    await rejectsWith(t, io.write('big', B('xy'), MAX_OBJECT_SIZE - 1), 'EFBIG', undefined, 'write past the object size limit');
    await rejectsWith(t, io.truncate('big', MAX_OBJECT_SIZE + 1), 'EFBIG', undefined, 'truncate past the limit');
    await rejectsWith(t, io.operate('big', { steps: [{ op: 'zero', offset: MAX_OBJECT_SIZE, length: 1 }] }), 'EFBIG', undefined, 'zero past the limit');
    await rejectsWith(t, io.writeFull('big', Buffer.alloc(MAX_WRITE_SIZE + 1)), 'EFBIG', undefined, 'one write over osd_max_write_size');
    t.same(await io.read('big'), B('keep'), 'data unchanged');
    t.equal(await version(io, 'big'), v, 'version unchanged');
    await io.operate('edge', { steps: [{ op: 'create', exclusive: true }, { op: 'truncate', size: MAX_OBJECT_SIZE }] });
    t.equal((await io.stat('edge')).size, MAX_OBJECT_SIZE, 'an object may be exactly the limit');
    await rejectsWith(t, io.append('edge', B('1')), 'EFBIG', undefined, 'append past the limit');
    t.same(await io.read('edge', MAX_OBJECT_SIZE - 4, 100), Buffer.alloc(4), 'its tail reads as zeros');
  });

  poolTest(t, h, 'a 64 MiB object', async (t, { io }) => {
    const size = 64 * 1024 * 1024;
    const data = Buffer.alloc(size);
    for (let i = 0; i < size; i += 4) data.writeUInt32LE(i, i);
    await io.writeFull('large', data);
    t.equal((await io.stat('large')).size, size);
    const back = await io.read('large');
    t.ok(back.equals(data), 'reads back whole');
    t.ok((await io.read('large', 33_554_431, 10)).equals(data.subarray(33_554_431, 33_554_441)), 'a range in the middle');
  });

  poolTest(t, h, 'bad input is refused and changes nothing', async (t, { io }) => {
    await io.writeFull('o', B('data'));
    await io.setXattr('o', 'a', B('1'));
    const v = await version(io, 'o');
    const bad: Array<[string, () => Promise<unknown>]> = [
      ['empty oid', () => io.write('', B('x'), 0)],
      ['negative offset', () => io.write('o', B('x'), -1)],
      ['fractional offset', () => io.write('o', B('x'), 1.5)],
      ['data not bytes', () => io.write('o', 'text' as unknown as Uint8Array, 0)],
      ['negative read length', () => io.read('o', 0, -1)],
      ['unknown step', () => io.operate('o', { steps: [{ op: 'write', offset: 0, data: B('X') }, { op: 'bogus' } as never] })],
      ['unknown guard', () => io.operate('o', { guards: [{ op: 'bogus' } as never], steps: [{ op: 'remove' }] })],
      ['unknown comparison', () => io.operate('o', { guards: [{ op: 'cmp_xattr', name: 'a', cmp: 'like' as never, value: B('1') }], steps: [{ op: 'remove' }] })],
      ['empty xattr name', () => io.setXattr('o', '', B('x'))],
      ['omap value not bytes', () => io.omapSet('o', new Map([['k', 'v' as unknown as Uint8Array]]))],
      ['lone surrogate in omap key', () => io.omapSet('o', new Map([['\uD800', B('v')]]))],
      ['negative truncate', () => io.truncate('o', -5)],
    ];
    for (const [what, call] of bad) await rejectsWith(t, call(), 'EINVAL', 'ERR_INVALID_ARGUMENT', what);
    t.same(await io.read('o'), B('data'), 'data unchanged');
    t.same(await io.getXattrs('o'), new Map([['a', B('1')]]), 'xattrs unchanged');
    t.equal(await version(io, 'o'), v, 'version unchanged');
  });
}
