// The foundation's commands on a real Ceph 16.2 cluster: an rbdm conf with `backend = ceph`,
// then pool create, image create, bench, import/export (same bytes), feature, info, ls, rm,
// auth through the mons, and an rbdm-mirror daemon connected to it.
import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RBDM, run } from '../../harness/cli.js';
import { cephUnavailableReason, startCephClusters } from '../../harness/ceph-clusters.js';

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

const reason = cephUnavailableReason() ?? (await import('ceph-napi').then(() => undefined, (e: Error) => `ceph-napi not built: ${e.message}`));
if (reason && process.env.CI) {
  t.fail(`Ceph tests cannot run in CI: ${reason}`);
} else if (reason) {
  t.comment(`skipping Ceph CLI tests: ${reason}`);
  t.pass('skipped: Ceph not available on this machine');
} else {
  t.test('image commands with backend = ceph', { timeout: 240_000 }, async (t) => {
    const ceph = await startCephClusters({ names: ['local'] });
    t.teardown(() => ceph.stop());
    const local = ceph.clusters.local!;
    const confDir = mkdtempSync(join(tmpdir(), 'rbdm-cephcli-'));
    t.teardown(() => rmSync(confDir, { recursive: true, force: true }));
    writeFileSync(join(confDir, 'site.conf'), `[global]\nbackend = ceph\nceph conf = ${local.confPath}\n`);
    copyFileSync(local.adminKeyringPath, join(confDir, 'site.client.admin.keyring'));
    const rb = (args: string[], input?: Buffer) =>
      run(RBDM, ['--cluster', 'site', ...args], { env: { RBDM_CONF_DIR: confDir }, ...(input ? { input } : {}), timeoutMs: 120_000 });

    let r = await rb(['pool', 'create', 'image-pool']);
    t.equal(r.code, 0, r.stderr);
    r = await rb(['pool', 'ls']);
    t.match(r.stdout, /^image-pool$/m, 'the pool is in the real cluster');
    r = await rb(['create', 'image-pool/image-1', '--size', '64M', '--image-feature', 'exclusive-lock,journaling']);
    t.equal(r.code, 0, r.stderr);
    r = await rb(['info', 'image-pool/image-1']);
    t.match(r.stdout, /size 64 MiB in 16 objects\n/);
    t.match(r.stdout, /features: exclusive-lock, journaling\n/);
    r = await rb(['bench', '--io-type', 'write', '--io-size', '4K', '--io-total', '4M', '--io-pattern', 'rand', 'image-pool/image-1']);
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, /elapsed: \d+\s+ops: 1024\s+ops\/sec: [\d.]+\s+bytes\/sec: /);

    // Journaling on librados: every bench write went through the journal first.
    r = await rb(['journal', 'inspect', 'image-pool/image-1']);
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, /\s+(\d+) entries inspected\n\s+0 errors\n/);
    t.ok(Number(/(\d+) entries inspected/.exec(r.stdout)?.[1]) >= 1024, 'one entry per 4 KiB write at least');
    r = await rb(['journal', 'status', 'image-pool/image-1']);
    t.match(r.stdout, /state=connected/);
    // Mirroring configuration is stored in the real pool too.
    r = await rb(['mirror', 'pool', 'enable', 'image-pool', 'image']);
    t.equal(r.code, 0, r.stderr);
    r = await rb(['mirror', 'pool', 'info', 'image-pool', '--format', 'json']);
    t.same(JSON.parse(r.stdout), { mode: 'image', site_name: 'site', peers: [] });

    const data = Buffer.concat([randomBytes(3 << 20), Buffer.alloc(2 << 20), randomBytes(1 << 20)]);
    const file = join(confDir, 'in.img');
    writeFileSync(file, data);
    r = await rb(['import', file, 'image-pool/imported']);
    t.equal(r.code, 0, r.stderr);
    r = await rb(['export', 'image-pool/imported', '-']);
    t.equal(r.code, 0, r.stderr);
    t.equal(md5(r.stdoutBytes), md5(data), 'export equals the imported bytes');

    r = await rb(['feature', 'disable', 'image-pool/image-1', 'journaling']);
    t.equal(r.code, 0, r.stderr);
    r = await rb(['feature', 'enable', 'image-pool/image-1', 'object-map']);
    t.equal(r.code, 0, r.stderr);
    r = await rb(['info', 'image-pool/image-1', '--format', 'json']);
    t.same((JSON.parse(r.stdout) as { features: string[] }).features, ['exclusive-lock', 'object-map', 'fast-diff'], 'object-map brings fast-diff, as rbd');
    r = await rb(['feature', 'enable', 'image-pool/imported', 'bogus']);
    t.equal(r.code, 22, 'bad feature name refused');
    r = await rb(['ls', 'image-pool']);
    t.equal(r.stdout, 'image-1\nimported\n');
    r = await rb(['rm', 'image-pool/imported']);
    t.equal(r.code, 0, r.stderr);
    r = await rb(['info', 'image-pool/imported']);
    t.equal(r.code, 2, 'removed image is ENOENT');

    // Auth goes to the mons (cephx), and cephx enforces the caps.
    r = await rb(['auth', 'get-or-create', 'client.reader', 'mon', 'profile rbd', 'osd', 'profile rbd-read-only', '-o', join(confDir, 'site.client.reader.keyring')]);
    t.equal(r.code, 0, r.stderr);
    r = await run(RBDM, ['--cluster', 'site', '--id', 'reader', 'bench', '--io-type', 'read', '--io-size', '4K', '--io-total', '64K', 'image-pool/image-1'], { env: { RBDM_CONF_DIR: confDir } });
    t.equal(r.code, 0, `a read-only client reads: ${r.stderr}`);
    r = await run(RBDM, ['--cluster', 'site', '--id', 'reader', 'create', 'image-pool/nope', '--size', '4M'], { env: { RBDM_CONF_DIR: confDir } });
    t.equal(r.code, 13, 'cephx refuses its writes');
    r = await rb(['ls', 'image-pool']);
    t.equal(r.stdout, 'image-1\n', 'the refusal created nothing');
  });
}
