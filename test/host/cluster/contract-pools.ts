/**
 * Contract: pools and object listing.
 */
import type { Test } from 'tap';
import type { IoCtx } from '../../../host/cluster/store.js';
import { B, poolTest, rejectsWith, type StoreHarness } from './contract-harness.js';

async function names(io: IoCtx, prefix?: string): Promise<string[]> {
  const out: string[] = [];
  for await (const n of io.listObjects(prefix === undefined ? {} : { prefix })) out.push(n);
  return out.sort();
}

export function poolContract(t: Test, h: () => StoreHarness): void {
  t.test('pools: create, list, lookup, delete', async (t) => {
    const c = h().cluster;
    const base = `pools-${process.pid}`;
    const a = await c.createPool(`${base}-a`);
    const b = await c.createPool(`${base}-b`);
    t.ok(b.id > a.id, 'pool ids increase');
    t.same(await c.lookupPool(`${base}-a`), a, 'lookup');
    const listed = await c.listPools();
    t.ok(listed.some((p) => p.name === a.name && p.id === a.id) && listed.some((p) => p.name === b.name), 'listed');
    await rejectsWith(t, c.createPool(`${base}-a`), 'EEXIST', 'ERR_POOL_EXISTS', 'create twice');
    await t.rejects(c.lookupPool(`${base}-none`), {
      code: 'ERR_POOL_NOT_FOUND', errno: 'ENOENT', message: `error opening pool '${base}-none': (2) No such file or directory`,
    }, 'lookup of a missing pool');
    await t.rejects(c.ioctx(`${base}-none`), { code: 'ERR_POOL_NOT_FOUND', message: `error opening pool '${base}-none': (2) No such file or directory` }, 'ioctx of a missing pool');
    await rejectsWith(t, c.deletePool(`${base}-none`), 'ENOENT', 'ERR_POOL_NOT_FOUND', 'delete of a missing pool');

    const io = await c.ioctx(`${base}-a`);
    await io.writeFull('obj', B('data'));
    await c.deletePool(`${base}-a`);
    await rejectsWith(t, io.read('obj'), 'ENOENT', 'ERR_POOL_NOT_FOUND', 'an ioctx of a deleted pool fails');
    const again = await c.createPool(`${base}-a`);
    t.ok(again.id > b.id, 'a re-created pool gets a new id (ids are never reused)');
    const io2 = await c.ioctx(`${base}-a`);
    t.same(await names(io2), [], 'deleting a pool removed its objects');
    await rejectsWith(t, io.read('obj'), 'ENOENT', 'ERR_POOL_NOT_FOUND', 'the old ioctx does not see the new pool');
    await io.close();
    await io2.close();
    await c.deletePool(`${base}-a`);
    await c.deletePool(`${base}-b`);
    t.notOk((await c.listPools()).some((p) => p.name.startsWith(base)), 'gone from the list');
  });

  t.test('pool names are validated and bad ones change nothing', async (t) => {
    const c = h().cluster;
    const before = await c.listPools();
    for (const bad of ['', 'a/b', 'a\0b', 'x'.repeat(256), '\uD800'] as const) {
      await rejectsWith(t, c.createPool(bad), 'EINVAL', 'ERR_INVALID_ARGUMENT', `create '${bad.slice(0, 10)}'`);
    }
    await rejectsWith(t, c.lookupPool('a/b'), 'EINVAL', 'ERR_INVALID_ARGUMENT', 'lookup');
    t.same(await c.listPools(), before, 'no pool was created');
    const longest = 'p'.repeat(255);
    await c.createPool(longest);
    t.pass('255 bytes is allowed');
    await c.deletePool(longest);
  });

  poolTest(t, h, 'listObjects', async (t, { io }) => {
    t.same(await names(io), [], 'an empty pool');
    const all: string[] = [];
    for (let i = 0; i < 2500; i += 250) {
      const batch = Array.from({ length: 250 }, (_, j) => `${(i + j) % 2 ? 'odd' : 'even'}.${i + j}`);
      await Promise.all(batch.map((n) => io.operate(n, { steps: [{ op: 'create', exclusive: true }] })));
      all.push(...batch);
    }
    t.same(await names(io), all.sort(), 'every object, across listing pages');
    t.same(await names(io, 'odd.'), all.filter((n) => n.startsWith('odd.')).sort(), 'prefix');
    t.same(await names(io, 'odd.99'), ['odd.99', 'odd.991', 'odd.993', 'odd.995', 'odd.997', 'odd.999'], 'a narrow prefix');
    t.same(await names(io, 'zzz'), [], 'a prefix matching nothing');
    await io.remove('even.0');
    t.notOk((await names(io, 'even.0')).includes('even.0'), 'a removed object is not listed');
  });
}
