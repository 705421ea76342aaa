// The mirror daemon on real Ceph 16.2: two clusters (backend = ceph), the seed's set-up (pool
// mode on both, peers both ways with their keyrings, a daemon user per cluster), one
// `rbdm-mirror` per cluster. A journaled image written on `local` is bootstrapped on
// `remote` (full sync) and then replayed; exports are byte-identical; the replica refuses
// client writes; status shows up+replaying on remote and "local image is primary" on local;
// then an orderly failover (demote local, promote remote) reverses the replay.
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RBDM, RBDM_MIRROR_ARGV, run, type RunResult } from '../../harness/cli.js';
import { cephUnavailableReason, startCephClusters } from '../../harness/ceph-clusters.js';

const POOL = 'image-pool';
const IMAGE = `${POOL}/image-1`;
type Site = 'local' | 'remote';

async function waitFor(what: string, cond: () => Promise<boolean>, ms = 180_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** `promote` is refused (EBUSY, "demotion is not propagated yet") until the daemon replayed it. */
async function waitForPromote(promote: () => Promise<RunResult>, ms = 120_000): Promise<RunResult> {
  const end = Date.now() + ms;
  for (;;) {
    const r = await promote();
    if (r.code === 0) return r;
    if (r.code !== 16 || Date.now() > end) throw new Error(`promote: exit ${r.code}: ${r.stderr}`);
    await new Promise((res) => setTimeout(res, 500));
  }
}

const reason = cephUnavailableReason() ?? (await import('ceph-napi').then(() => undefined, (e: Error) => `ceph-napi not built: ${e.message}`));
if (reason && process.env.CI) {
  t.fail(`Ceph mirroring tests cannot run in CI: ${reason}`);
} else if (reason) {
  t.comment(`skipping Ceph mirroring tests: ${reason}`);
  t.pass('skipped: Ceph not available on this machine');
} else {
  t.test('rbdm-mirror on two real Ceph clusters: bootstrap, full sync, replay, status', { timeout: 420_000 }, async (t) => {
    const ceph = await startCephClusters({ names: ['local', 'remote'] });
    t.teardown(() => ceph.stop());
    const dir = mkdtempSync(join(tmpdir(), 'rbdm-cephmirror-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    for (const site of ['local', 'remote'] as const) {
      const c = ceph.clusters[site]!;
      writeFileSync(join(dir, `${site}.conf`), `[global]\nbackend = ceph\nceph conf = ${c.confPath}\n`);
      copyFileSync(c.adminKeyringPath, join(dir, `${site}.client.admin.keyring`));
    }
    const env = { RBDM_CONF_DIR: dir };
    const rbdm = (site: Site, args: string[]): Promise<RunResult> => run(RBDM, ['--cluster', site, ...args], { env, timeoutMs: 120_000 });
    const ok = async (site: Site, args: string[]) => {
      const r = await rbdm(site, args);
      if (r.code !== 0) throw new Error(`rbdm --cluster ${site} ${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
      return r;
    };
    const md5 = async (site: Site) => {
      const r = await rbdm(site, ['export', IMAGE, '-', '--no-progress']);
      return r.code === 0 ? createHash('md5').update(r.stdoutBytes).digest('hex') : undefined;
    };

    for (const site of ['local', 'remote'] as const) {
      await ok(site, ['pool', 'create', POOL]);
      await ok(site, ['pool', 'init', POOL]);
    }
    for (const [me, other] of [['local', 'remote'], ['remote', 'local']] as const) {
      await ok(me, ['mirror', 'pool', 'enable', POOL, 'pool']);
      await ok(other, ['auth', 'get-or-create', `client.${other}`, 'mon', 'profile rbd', 'osd', 'profile rbd', '-o', join(dir, `${other}.client.${other}.keyring`)]);
      await ok(me, ['mirror', 'pool', 'peer', 'add', POOL, `client.${other}@${other}`]);
      await ok(me, ['auth', 'get-or-create', 'client.rbd-mirror.a', 'mon', 'profile rbd-mirror', 'osd', 'profile rbd', '-o', join(dir, `${me}.client.rbd-mirror.a.keyring`)]);
    }

    const daemons: Array<{ site: Site; child: ChildProcess; exited: Promise<number | null>; log: string }> = [];
    for (const site of ['local', 'remote'] as const) {
      const log = join(dir, `${site}-mirror.log`);
      const child = spawn(process.execPath, [...RBDM_MIRROR_ARGV, '-f', '--cluster', site, '--id', 'rbd-mirror.a', `--log-file=${log}`, '--admin-socket', join(dir, `${site}.asok`)], {
        env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'],
      });
      child.stderr!.resume();
      const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
      t.teardown(() => child.kill('SIGKILL'));
      daemons.push({ site, child, exited, log });
    }
    const logs = () => daemons.map((d) => `--- ${d.site}\n${existsSync(d.log) ? readFileSync(d.log, 'utf8') : ''}`).join('\n');
    await waitFor('both daemons replaying their pool', async () => daemons.every((d) => existsSync(d.log) && readFileSync(d.log, 'utf8').includes(`replaying pool ${POOL}`)), 60_000)
      .catch((e: Error) => { throw new Error(`${e.message}\n${logs()}`); });

    await ok('local', ['create', IMAGE, '--size', '64M', '--image-feature', 'exclusive-lock,journaling']);
    await ok('local', ['bench', IMAGE, '--io-type', 'write', '--io-size', '64K', '--io-total', '8M', '--io-pattern', 'rand']);
    const first = await md5('local');
    await waitFor('bootstrap and full sync on remote', async () => (await md5('remote')) === first)
      .catch((e: Error) => { throw new Error(`${e.message}\n${logs()}`); });
    t.pass('the replica on the remote Ceph cluster equals the primary after bootstrap');

    await ok('local', ['bench', IMAGE, '--io-type', 'write', '--io-size', '4K', '--io-total', '2M', '--io-pattern', 'rand']);
    const second = await md5('local');
    t.not(second, first, 'the second bench changed the primary');
    await waitFor('journal replay on remote', async () => (await md5('remote')) === second)
      .catch((e: Error) => { throw new Error(`${e.message}\n${logs()}`); });
    t.pass('the replica equals the primary after journal replay');

    const refused = await rbdm('remote', ['bench', IMAGE, '--io-type', 'write', '--io-size', '4K', '--io-total', '4K']);
    t.equal(refused.code, 30, `client writes to the non-primary replica are refused with EROFS: ${refused.stderr}`);
    t.equal(await md5('remote'), second, 'the refused write changed nothing');

    await waitFor('up+replaying on remote', async () => /state: +up\+replaying/.test((await rbdm('remote', ['mirror', 'image', 'status', IMAGE])).stdout), 60_000);
    const info = await ok('remote', ['info', IMAGE, '--format', 'json']);
    t.match(JSON.parse(info.stdout), { features: ['exclusive-lock', 'journaling'], mirroring: { primary: false } }, 'non-primary journaled replica on Ceph');
    const pool = await ok('local', ['mirror', 'pool', 'status', POOL, '--verbose']);
    t.match(pool.stdout, /peer_sites:[\s\S]*name: remote[\s\S]*state: up\+replaying/, 'local sees the remote site replaying');

    await waitFor('local image is primary on local', async () =>
      /state: +up\+stopped\n\s+description: local image is primary/.test((await rbdm('local', ['mirror', 'image', 'status', IMAGE])).stdout), 60_000);
    t.pass('the local daemon reports up+stopped, local image is primary');

    // Orderly failover on Ceph: demote local, the remote daemon replays the demotion, promote
    // remote without --force, write there; the local daemon replays in the reverse direction.
    await ok('local', ['mirror', 'image', 'demote', IMAGE]);
    const promoted = await waitForPromote(() => rbdm('remote', ['mirror', 'image', 'promote', IMAGE]));
    t.match(promoted.stdout, /Image promoted to primary/, 'promote without --force once the demotion is replayed');
    await ok('remote', ['bench', IMAGE, '--io-type', 'write', '--io-size', '4K', '--io-total', '1M', '--io-pattern', 'rand']);
    const third = await md5('remote');
    t.not(third, second, 'the new primary changed');
    await waitFor('reverse replay on local', async () => (await md5('local')) === third)
      .catch((e: Error) => { throw new Error(`${e.message}\n${logs()}`); });
    t.pass('after failover the old primary is an identical replica of the new one');
    const back = await rbdm('local', ['bench', IMAGE, '--io-type', 'write', '--io-size', '4K', '--io-total', '4K']);
    t.equal(back.code, 30, 'the demoted image refuses client writes');

    for (const d of daemons) {
      d.child.kill('SIGTERM');
      t.equal(await d.exited, 0, `rbdm-mirror on ${d.site} exits 0 on SIGTERM`);
    }
    t.notMatch(logs(), /replay of .* failed/, 'no replay failures in the daemon logs');
  });
}
