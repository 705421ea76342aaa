// Orderly failover and failback with one `rbdm-mirror` per cluster: the demotion is replayed
// (the replica's journal ends <orphan>, its lock released), `promote` without --force then
// succeeds on the other side, and replay reverses direction on its own, without a full sync
// (the image ids stay, the daemons log no second sync); status words as rbd 16.2's
// (captures 138, 146, 147; rbd's own test suite for up+unknown after a demotion).
import t, { type Test } from 'tap';
import { mirroredWithDaemons, ok, waitFor, type Mirrored, type Site } from './failover-sites.js';

const POOL = 'image-pool';
const IMAGE = `${POOL}/image-1`;

async function imageId(m: Mirrored, site: Site): Promise<string> {
  return (JSON.parse(await ok(m.rbdm(site, ['info', IMAGE, '--format', 'json']), `info ${site}`)) as { id: string }).id;
}

async function logs(m: Mirrored): Promise<string> {
  let out = '';
  for (const s of ['local', 'remote'] as const) out += `--- ${s} status:\n${(await m.status(s, IMAGE)).text}--- ${s} daemon log:\n${m.daemons[s].log().slice(-3000)}\n`;
  return out;
}

const bench = (m: Mirrored, site: Site, total: string) =>
  m.rbdm(site, ['bench', IMAGE, '--io-type', 'write', '--io-size', '4K', '--io-total', total, '--io-pattern', 'rand']);

/** Demote `from`, wait until `to` replayed it, promote `to` (no --force), then write on `to`. */
async function failOver(t: Test, m: Mirrored, from: Site, to: Site): Promise<void> {
  await ok(m.rbdm(from, ['mirror', 'image', 'demote', IMAGE]), `demote ${from}`);
  await m.waitStatus(to, IMAGE, /^up\+unknown$/, /^remote image is non-primary$/);
  await m.waitStatus(from, IMAGE, /^up\+unknown$/, /^remote image is non-primary$/);
  t.pass(`${to} replayed the demotion of ${from}: both up+unknown, remote image is non-primary`);
  const promoted = await m.rbdm(to, ['mirror', 'image', 'promote', IMAGE]);
  t.equal(promoted.code, 0, `promote ${to} without --force: ${promoted.stderr}`);
  t.match(promoted.stdout, /Image promoted to primary/);

  await m.waitStatus(to, IMAGE, /^up\+stopped$/, /^local image is primary$/);
  await m.waitStatus(from, IMAGE, /^up\+replaying$/, /^replaying, \{"bytes_per_second"/);
  t.ok(await ok(bench(m, to, '2M'), `bench ${to}`), `writes on the new primary ${to}`);
  const want = await m.md5(to, IMAGE);
  await waitFor(`${from} identical to ${to}`, async () => (await m.md5(from, IMAGE)) === want, 120_000, () => logs(m));
  t.pass(`${from} replica identical to ${to} after reverse replay`);

  const refused = await bench(m, from, '64K');
  t.equal(refused.code, 30, `bench on the non-primary ${from} refused with EROFS: ${refused.stderr}`);
  t.equal(await m.md5(from, IMAGE), want, 'the refused write changed nothing');
  const info = JSON.parse(await ok(m.rbdm(from, ['info', IMAGE, '--format', 'json']), 'info')) as { mirroring: { primary: boolean } };
  t.equal(info.mirroring.primary, false, `${from} is non-primary`);
  await m.waitStatus(from, IMAGE, /^up\+replaying$/, /"entries_behind_primary":0/);
  await m.waitStatus(to, IMAGE, /^up\+stopped$/, /^local image is primary$/);
}

t.test('failover and failback: demote, promote, reverse replay without full sync', async (t) => {
  const m = await mirroredWithDaemons(t, POOL);
  await ok(m.rbdm('local', ['create', IMAGE, '--size', '64M', '--image-feature', 'exclusive-lock,journaling']), 'create');
  await ok(bench(m, 'local', '4M'), 'bench local, both daemons running');
  const first = await m.md5('local', IMAGE);
  await waitFor('remote replica identical', async () => (await m.md5('remote', IMAGE)) === first, 60_000, () => logs(m));
  await m.waitStatus('local', IMAGE, /^up\+stopped$/, /^local image is primary$/);
  await m.waitStatus('remote', IMAGE, /^up\+replaying$/, /^replaying, /);
  t.pass('local primary: up+stopped "local image is primary"; remote replica up+replaying');
  const ids = { local: await imageId(m, 'local'), remote: await imageId(m, 'remote') };

  await t.test('failover: local -> remote', (t) => failOver(t, m, 'local', 'remote'));
  await t.test('failback: remote -> local', (t) => failOver(t, m, 'remote', 'local'));

  t.same({ local: await imageId(m, 'local'), remote: await imageId(m, 'remote') }, ids, 'no image was re-created');
  const syncs = (s: Site) => m.daemons[s].log().split('\n').filter((l) => l.includes('full sync from the peer')).length;
  t.equal(syncs('remote'), 1, 'the remote daemon synced once (the first bootstrap)');
  t.equal(syncs('local'), 0, 'the local daemon never synced: reverse replay followed the tag chain');
  for (const s of ['local', 'remote'] as const) t.notMatch(m.daemons[s].log(), /split-brain|replay of .* failed/, `${s} daemon log has no split-brain or replay failure`);
  for (const s of ['local', 'remote'] as const) t.equal(await m.daemons[s].stop(), 0, `${s} daemon exits 0 on SIGTERM`);
});
