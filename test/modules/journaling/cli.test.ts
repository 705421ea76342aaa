// The journal commands through the real rbdm CLI: rbd's layouts, inspect finding a
// corrupted entry, export/import, reset, client disconnect, and refusals that change nothing.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { TestClusters } from '../../harness/cli.js';

async function local(t: { teardown(fn: () => unknown): void }) {
  const c = new TestClusters('rbdm-journal-cli-');
  t.teardown(() => c.cleanup());
  await c.create('local');
  const rbdm = (args: string[]) => c.rbdm(['--cluster', 'local', ...args]);
  await rbdm(['pool', 'create', 'rbd']);
  return { c, rbdm };
}

t.test('info, status, inspect, export/import, reset, client disconnect', async (t) => {
  const { c, rbdm } = await local(t);
  let r = await rbdm(['create', 'img', '--size', '16M', '--image-feature', 'exclusive-lock,journaling']);
  t.equal(r.code, 0, r.stderr);
  r = await rbdm(['bench', '--io-type', 'write', '--io-size', '4K', '--io-total', '64K', 'img']);
  t.equal(r.code, 0, r.stderr);
  r = await rbdm(['journal', 'info', '--pool', 'rbd', '--image', 'img']);
  t.match(r.stdout, /^rbd journal '([0-9a-f]{12})':\n\theader_oid: journal\.\1\n\tobject_oid_prefix: journal_data\.\d+\.\1\.\n\torder: 24 \(16 MiB objects\)\n\tsplay_width: 4\n$/);
  r = await rbdm(['journal', 'status', 'rbd/img']);
  t.match(r.stdout, /^minimum_set: 0\nactive_set: 0\nregistered clients: \n\t\[id=, commit_position=\[positions=\[\[object_number=\d, tag_tid=1, entry_tid=\d+\]/);
  r = await rbdm(['journal', 'status', 'img', '--format', 'json']);
  t.match(JSON.parse(r.stdout), { minimum_set: 0, active_set: 0, registered_clients: [{ id: '', state: 'connected', commit_position: { object_positions: [{ tag_tid: 1 }] } }] });
  r = await rbdm(['journal', 'inspect', 'img']);
  t.match(r.stdout, /Summary:\n  \d+ entries inspected\n  0 errors\n/);
  const count = Number(/(\d+) entries/.exec(r.stdout)![1]);
  const exp = join(c.dir, 'img.journal');
  r = await rbdm(['journal', 'export', 'img', exp]);
  t.same([r.code, r.stdout], [0, `Exported ${count} journal entries\n`], r.stderr);
  r = await rbdm(['journal', 'export', 'img', exp]);
  t.same([r.code, r.stderr], [22, `rbdm: cannot create export file '${exp}': it already exists\n`]);

  // A flipped byte found by inspect: write-path.test.ts (the CLI has no rados put).
  // Import into another image, then compare exports.
  r = await rbdm(['create', 'copy', '--size', '16M']);
  r = await rbdm(['journal', 'import', exp, 'copy']);
  t.same([r.code, r.stdout], [0, `Imported ${count} journal entries\n`], r.stderr);
  const a = await c.rbdm(['--cluster', 'local', 'export', 'img', '-']);
  const b = await c.rbdm(['--cluster', 'local', 'export', 'copy', '-']);
  t.ok(a.stdoutBytes.equals(b.stdoutBytes), 'import reproduced the image');

  r = await rbdm(['journal', 'client', 'disconnect', 'img', '--client-id', 'nobody']);
  t.same([r.code, r.stderr], [2, "rbdm: journal client 'nobody' is not registered\n"]);
  r = await rbdm(['journal', 'reset', 'img']);
  t.equal(r.code, 0, r.stderr);
  r = await rbdm(['journal', 'status', 'img', '--format', 'json']);
  t.match(JSON.parse(r.stdout), { minimum_set: 0, active_set: 0, registered_clients: [{ id: '' }] });
  r = await rbdm(['journal', 'inspect', 'img']);
  t.match(r.stdout, /  0 entries inspected\n  0 errors\n/, 'reset: an empty journal');
});

t.test('bad input: clear errors, nothing changed', async (t) => {
  const { c, rbdm } = await local(t);
  await rbdm(['create', 'plain', '--size', '1M']);
  await rbdm(['create', 'img', '--size', '1M', '--image-feature', 'exclusive-lock,journaling']);
  const before = (await rbdm(['journal', 'status', 'img', '--format', 'json'])).stdout;
  const cases: Array<[string[], number, RegExp]> = [
    [['journal', 'info', 'plain'], 22, /image rbd\/plain has no journal: journaling is not enabled/],
    [['journal', 'status', 'nope'], 2, /nope/],
    [['journal', 'info', 'a/b/c'], 22, /invalid image spec 'a\/b\/c'/],
    [['journal', 'info', 'img@snap'], 22, /snapshots are not supported/],
    [['journal', 'info'], 22, /image name was not specified/],
    [['journal', 'status', 'nopool/img'], 2, /nopool/],
    [['journal', 'client', 'disconnect', 'img', '--client-id', ''], 22, /image's own journal client/],
    [['journal', 'import', join(c.dir, 'missing'), 'img'], 22, /cannot read/],
    [['journal', 'reset', 'plain'], 22, /has no journal/],
  ];
  writeFileSync(join(c.dir, 'junk'), 'not a journal');
  cases.push([['journal', 'import', join(c.dir, 'junk'), 'img'], 22, /is not a journal export/]);
  writeFileSync(join(c.dir, 'cut'), Buffer.concat([Buffer.from('rbdm-journal-export v1\n'), Buffer.from([0x93, 0x97, 0x58, 0x26])]));
  cases.push([['journal', 'import', join(c.dir, 'cut'), 'img'], 22, /is damaged at byte 23/]);
  for (const [args, code, re] of cases) {
    const r = await rbdm(args);
    t.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    t.match(r.stderr, re);
    t.equal(r.stdout, '');
  }
  t.equal((await rbdm(['journal', 'status', 'img', '--format', 'json'])).stdout, before, 'journal unchanged');
  const r = await rbdm(['feature', 'disable', 'img', 'journaling']);
  t.equal(r.code, 0, 'no peers: disable is allowed');
  t.equal((await rbdm(['journal', 'info', 'img'])).code, 22);
});
