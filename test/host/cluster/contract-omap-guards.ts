/**
 * Contract: omap (ordering, paging, prefixes) and compound operations with guards.
 */
import type { Test } from 'tap';
import type { CmpOp, IoCtx, WriteOp } from '../../../host/cluster/store.js';
import { B, poolTest, rejectsWith, type StoreHarness } from './contract-harness.js';

const keysOf = (m: Map<string, Buffer>) => [...m.keys()];

/** Everything observable about an object, to show a failed op changed nothing. */
async function snapshot(io: IoCtx, oid: string) {
  const [data, stat, xattrs, omap] = await io.operateRead(oid, {
    steps: [{ op: 'read', offset: 0, length: 1 << 20 }, { op: 'stat' }, { op: 'getxattrs' }, { op: 'omap_get_vals' }],
  });
  if (data?.op !== 'read' || stat?.op !== 'stat' || xattrs?.op !== 'getxattrs' || omap?.op !== 'omap_get_vals') {
    throw new Error('results out of order');
  }
  return { data: data.data, stat: stat.stat, xattrs: xattrs.xattrs, omap: omap.entries };
}

export function omapGuardContract(t: Test, h: () => StoreHarness): void {
  poolTest(t, h, 'omap set, get, remove, clear', async (t, { io }) => {
    await io.omapSet('m', new Map([['b', B('2')], ['a', B('1')], ['c', B('')]]));
    t.same(await io.read('m'), B(''), 'omap_set creates the object');
    const all = await io.omapGetVals('m');
    t.same(keysOf(all.entries), ['a', 'b', 'c'], 'sorted');
    t.same(all.entries.get('c'), B(''), 'empty value');
    t.equal(all.more, false);
    t.same(await io.omapGetValsByKeys('m', ['c', 'zz', 'a']), new Map([['c', B('')], ['a', B('1')]]), 'by keys: missing keys are left out');
    await io.omapSet('m', new Map([['a', B('one')]]));
    t.same((await io.omapGetValsByKeys('m', ['a'])).get('a'), B('one'), 'overwrite');
    await io.omapRemoveKeys('m', ['a', 'never']);
    t.same(keysOf((await io.omapGetVals('m')).entries), ['b', 'c'], 'remove keys');
    await io.omapClear('m');
    t.same((await io.omapGetVals('m')).entries.size, 0, 'clear');
    t.same(await io.read('m'), B(''), 'the object remains');
    await rejectsWith(t, io.omapGetVals('none'), 'ENOENT', 'ERR_OBJECT_NOT_FOUND');
    await rejectsWith(t, io.omapGetValsByKeys('none', ['a']), 'ENOENT', 'ERR_OBJECT_NOT_FOUND');
    await rejectsWith(t, io.omapRemoveKeys('none', ['a']), 'ENOENT', 'ERR_OBJECT_NOT_FOUND');
    await rejectsWith(t, io.omapClear('none'), 'ENOENT', 'ERR_OBJECT_NOT_FOUND');
  });

  poolTest(t, h, 'omap paging, prefixes and bytewise order', async (t, { io }) => {
    const keys = Array.from({ length: 25 }, (_, i) => `k${String(i).padStart(2, '0')}`);
    await io.omapSet('p', new Map([...keys.map((k) => [k, B(k)] as [string, Buffer]), ['j', B('')], ['l', B('')]]));
    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await io.omapGetVals('p', { prefix: 'k', max: 10, ...(after === undefined ? {} : { after }) });
      seen.push(...page.entries.keys());
      if (!page.more) break;
      after = [...page.entries.keys()].pop();
    }
    t.same(seen, keys, 'pages of 10 with a prefix cover it exactly');
    t.same(keysOf((await io.omapGetVals('p', { after: 'k23' })).entries), ['k24', 'l'], 'after is exclusive');
    t.same(keysOf((await io.omapGetVals('p', { after: 'a', prefix: 'k2' })).entries), ['k20', 'k21', 'k22', 'k23', 'k24'], 'after before the prefix starts at the prefix');
    t.same(keysOf((await io.omapGetVals('p', { after: 'k24', prefix: 'k' })).entries), [], 'after past the prefix range');
    const exact = await io.omapGetVals('p', { prefix: 'k0', max: 10 });
    t.equal(exact.entries.size, 10);
    t.equal(exact.more, false, 'no more when the page ends the range exactly');
    const zero = await io.omapGetVals('p', { max: 0 });
    t.same([zero.entries.size, zero.more], [0, true], 'max 0 says whether any remain');
    // U+FFFF is EF BF BF, U+1F600 is F0 9F 98 80: bytewise, the emoji sorts last, though
    // as UTF-16 (a JS sort) it sorts first.
    await io.omapSet('u', new Map([['\u{1F600}', B('')], ['\uFFFF', B('')], ['é', B('')], ['z', B('')], ['', B('empty key')]]));
    t.same(keysOf((await io.omapGetVals('u')).entries), ['', 'z', 'é', '\uFFFF', '\u{1F600}'], 'bytewise (UTF-8) order');
    t.same(keysOf((await io.omapGetVals('u', { prefix: '\uFFFF' })).entries), ['\uFFFF'], 'prefix of high bytes');
  });

  poolTest(t, h, 'existence and version guards', async (t, { io }) => {
    const w: WriteOp['steps'] = [{ op: 'write', offset: 0, data: B('x') }];
    await rejectsWith(t, io.operate('g', { guards: [{ op: 'assert_exists' }], steps: w }), 'ENOENT', 'ERR_OBJECT_NOT_FOUND', 'assert_exists on a missing object');
    await rejectsWith(t, io.stat('g'), 'ENOENT', undefined, 'and nothing was created');
    await io.operate('g', { guards: [{ op: 'assert_not_exists' }], steps: w });
    t.same(await io.read('g'), B('x'), 'assert_not_exists passes on a missing object (exclusive create)');
    await rejectsWith(t, io.operate('g', { guards: [{ op: 'assert_not_exists' }], steps: w }), 'EEXIST', 'ERR_OBJECT_EXISTS');
    await io.operate('g', { guards: [{ op: 'assert_exists' }], steps: [{ op: 'append', data: B('y') }] });
    t.same(await io.read('g'), B('xy'), 'assert_exists passes');
    const v = (await io.stat('g')).version;
    await io.operate('g', { guards: [{ op: 'assert_version', version: v }], steps: [{ op: 'append', data: B('z') }] });
    t.same(await io.read('g'), B('xyz'), 'assert_version passes on the current version');
    await rejectsWith(t, io.operate('g', { guards: [{ op: 'assert_version', version: v }], steps: w }), 'ECANCELED', 'ERR_GUARD_FAILED', 'stale version');
    await rejectsWith(t, io.operate('nope', { guards: [{ op: 'assert_version', version: 0 }], steps: w }), 'ECANCELED', 'ERR_GUARD_FAILED', 'assert_version on a missing object');
    await rejectsWith(t, io.operate('g', { steps: [{ op: 'create', exclusive: true }] }), 'EEXIST', undefined, 'exclusive create step');
  });

  poolTest(t, h, 'cmp_xattr and cmp_omap, every comparison', async (t, { io }) => {
    await io.setXattr('c', 'x', B('m'));
    await io.omapSet('c', new Map([['k', B('m')]]));
    const cases: Array<[CmpOp, string, boolean]> = [
      ['eq', 'm', true], ['eq', 'n', false], ['ne', 'n', true], ['ne', 'm', false],
      ['gt', 'a', true], ['gt', 'm', false], ['gte', 'm', true], ['gte', 'z', false],
      ['lt', 'z', true], ['lt', 'm', false], ['lte', 'm', true], ['lte', 'a', false],
      ['lt', 'mm', true], ['gt', 'm\0', false],
    ];
    for (const kind of ['cmp_xattr', 'cmp_omap'] as const) {
      for (const [cmp, value, pass] of cases) {
        const guard = kind === 'cmp_xattr'
          ? { op: kind, name: 'x', cmp, value: B(value) }
          : { op: kind, key: 'k', cmp, value: B(value) };
        const op = io.operate('c', { guards: [guard], steps: [{ op: 'setxattr', name: 'hit', value: B('1') }] });
        if (pass) await t.resolves(op, `${kind}: stored 'm' ${cmp} '${value}' passes`);
        else await rejectsWith(t, op, 'ECANCELED', 'ERR_GUARD_FAILED', `${kind}: stored 'm' ${cmp} '${value}' fails`);
      }
    }
    await io.operate('c', { guards: [{ op: 'cmp_xattr', name: 'unset', cmp: 'eq', value: B('') }], steps: [] });
    t.pass('a missing xattr compares as empty');
    await io.operate('new', { guards: [{ op: 'cmp_xattr', name: 'unset', cmp: 'eq', value: B('') }], steps: [{ op: 'create', exclusive: true }] });
    t.pass('so does any xattr of a missing object');
    await rejectsWith(t, io.operate('c', { guards: [{ op: 'cmp_omap', key: 'unset', cmp: 'eq', value: B('') }], steps: [] }), 'ECANCELED', 'ERR_GUARD_FAILED', 'a missing omap key fails');
    await rejectsWith(t, io.operate('none', { guards: [{ op: 'cmp_omap', key: 'k', cmp: 'eq', value: B('m') }], steps: [] }), 'ENOENT', undefined, 'cmp_omap on a missing object');
  });

  poolTest(t, h, 'a failed compound op applies nothing', async (t, { io }) => {
    await io.operate('a', {
      steps: [{ op: 'write_full', data: B('base') }, { op: 'setxattr', name: 'x', value: B('1') }, { op: 'omap_set', entries: new Map([['k', B('v')]]) }],
    });
    const before = await snapshot(io, 'a');
    const everything: WriteOp['steps'] = [
      { op: 'write', offset: 2, data: B('XXXXXX') }, { op: 'setxattr', name: 'y', value: B('2') },
      { op: 'rmxattr', name: 'x' }, { op: 'omap_set', entries: new Map([['k2', B('v2')]]) },
      { op: 'omap_rm', keys: ['k'] }, { op: 'truncate', size: 1 },
    ];
    await rejectsWith(t, io.operate('a', { guards: [{ op: 'cmp_xattr', name: 'x', cmp: 'eq', value: B('2') }], steps: everything }), 'ECANCELED');
    t.same(await snapshot(io, 'a'), before, 'after a failed guard');
    await rejectsWith(t, io.operate('a', { steps: [...everything, { op: 'create', exclusive: true }] }), 'EEXIST');
    t.same(await snapshot(io, 'a'), before, 'after a failing last step');
    await rejectsWith(t, io.operate('a', { steps: [...everything, { op: 'remove' }, { op: 'omap_clear' }] }), 'ENOENT');
    t.same(await snapshot(io, 'a'), before, 'after a remove then a step that needs the object');
    await io.operate('a', { guards: [{ op: 'assert_exists' }], steps: [{ op: 'remove' }, { op: 'write_full', data: B('new') }] });
    t.same((await snapshot(io, 'a')).xattrs, new Map(), 'remove then write in one op gives a fresh object');
    t.same(await io.read('a'), B('new'));
  });

  poolTest(t, h, 'compound reads', async (t, { io }) => {
    await io.operate('r', { steps: [{ op: 'write_full', data: B('abcdef') }, { op: 'setxattr', name: 'x', value: B('1') }, { op: 'omap_set', entries: new Map([['a', B('1')], ['b', B('2')]]) }] });
    const res = await io.operateRead('r', {
      guards: [{ op: 'cmp_xattr', name: 'x', cmp: 'eq', value: B('1') }],
      steps: [
        { op: 'read', offset: 2, length: 2 }, { op: 'stat' }, { op: 'getxattr', name: 'x' }, { op: 'getxattrs' },
        { op: 'omap_get_vals', max: 1 }, { op: 'omap_get_vals_by_keys', keys: ['b'] },
      ],
    });
    t.same(res.map((r) => r.op), ['read', 'stat', 'getxattr', 'getxattrs', 'omap_get_vals', 'omap_get_vals_by_keys'], 'one result per step, in order');
    t.match(res, [
      { data: B('cd') }, { stat: { size: 6 } }, { value: B('1') }, { xattrs: new Map([['x', B('1')]]) },
      { entries: new Map([['a', B('1')]]), more: true }, { entries: new Map([['b', B('2')]]) },
    ]);
    await rejectsWith(t, io.operateRead('r', { guards: [{ op: 'cmp_xattr', name: 'x', cmp: 'eq', value: B('2') }], steps: [{ op: 'stat' }] }), 'ECANCELED', 'ERR_GUARD_FAILED');
    await rejectsWith(t, io.operateRead('none', { steps: [{ op: 'stat' }] }), 'ENOENT');
  });
}
