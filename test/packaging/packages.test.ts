// The deb and rpm packages, built once by `node packaging/build.mjs` into a temp dir, checked
// with the distributions' own tools (lintian, systemd-analyze, dpkg-deb, rpm), then the .deb
// extracted and run: the CLI, the daemon's --help and two embedded clusters.
import t, { type Test } from 'tap';
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeFlagsOf } from '../harness/cli.js';

/** Repository root, from dist/test/packaging/. */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

interface Ran { code: number | null; stdout: string; stderr: string }

function sh(cmd: string, args: string[], opts: SpawnSyncOptions = {}): Ran {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, timeout: 120_000, ...opts });
  return { code: r.status, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') + (r.error ? String(r.error) : '') };
}

const TOOLS = ['dpkg-deb', 'dpkg-shlibdeps', 'rpmbuild', 'rpm', 'lintian', 'help2man', 'systemd-analyze', 'logrotate', 'debootstrap'];
const missing = TOOLS.filter((c) => sh('sh', ['-c', `command -v ${c}`]).code !== 0);
// CI installs them from .ci/apt-packages.d/packaging.txt, so there a missing tool fails the run.
if (missing.length && !process.env.CI) {
  t.plan(0, `skip: missing ${missing.join(', ')}: apt-get install $(grep -v '^#' .ci/apt-packages.d/packaging.txt)`);
} else {
  // Build (~20 s), lintian, the extracted tree and debootstrap (~40 s): about 90 s in all.
  t.setTimeout(540_000);
  const out = mkdtempSync(join(tmpdir(), 'rbdm-pkg-'));
  t.teardown(() => rmSync(out, { recursive: true, force: true }));
  const build = sh(process.execPath, [join(ROOT, 'packaging/build.mjs'), '--out', join(out, 'pkgs')], { cwd: ROOT, timeout: 300_000 });
  t.equal(build.code, 0, `build.mjs: ${build.stderr}`);
  const built = build.stdout.split('\n').filter((l) => l.startsWith('/'));
  const deb = built.find((f) => f.endsWith('.deb'))!;
  const rpm = built.find((f) => f.endsWith('.rpm'))!;
  t.comment(build.stdout.split('\n').find((l) => l.startsWith('# built in')) ?? '');
  t.match(deb, new RegExp(`/rbdm_${VERSION.replaceAll('.', '\\.')}_[a-z0-9]+\\.deb$`));
  t.match(rpm, new RegExp(`/rbdm-${VERSION.replaceAll('.', '\\.')}-1\\.[a-z0-9_]+\\.rpm$`));

  // The packaged tree, extracted once, serves the unit verification and the run tests.
  const tree = join(out, 'root');
  t.equal(sh('dpkg-deb', ['-x', deb, tree]).code, 0);

  /** Paths every package must install, and what no package may carry. */
  const EXPECTED = [
    '/usr/bin/rbdm', '/usr/bin/rbdm-mirror',
    '/usr/lib/rbdm/package.json', '/usr/lib/rbdm/bin/rbdm.js', '/usr/lib/rbdm/bin/rbdm-mirror.js',
    '/usr/lib/rbdm/dist/host/main.js', '/usr/lib/rbdm/dist/host/cli/main.js',
    '/usr/lib/rbdm/node_modules/better-sqlite3/build/Release/better_sqlite3.node',
    '/usr/lib/rbdm/node_modules/yargs/package.json',
    '/usr/lib/systemd/system/rbdm-mirror@.service', '/usr/lib/systemd/system/rbdm-mirror.target',
    '/etc/default/rbdm', '/etc/logrotate.d/rbdm', '/etc/rbdm', '/var/lib/rbdm', '/var/log/rbdm',
    '/usr/share/man/man8/rbdm.8.gz', '/usr/share/man/man8/rbdm-mirror.8.gz',
  ];
  const FORBIDDEN = [/\.ts$/, /\.map$/, /\/dist\/test\//, /\/node_modules\/(typescript|tap|@tapjs|@types)\//, /\/node_modules\/better-sqlite3\/(src|deps)\//];

  function checkList(t: Test, paths: string[]): void {
    for (const p of EXPECTED) t.ok(paths.includes(p), `ships ${p}`);
    for (const re of FORBIDDEN) t.same(paths.filter((p) => re.test(p)), [], `nothing matching ${re}`);
  }

  t.test('dpkg-deb -I: control fields and the nodejs dependency', async (t) => {
    const info = sh('dpkg-deb', ['-I', deb]);
    t.equal(info.code, 0, info.stderr);
    t.match(info.stdout, /^ Package: rbdm$/m);
    t.match(info.stdout, new RegExp(`^ Version: ${VERSION}$`, 'm'));
    const depends = sh('dpkg-deb', ['-f', deb, 'Depends']).stdout.trim();
    t.match(depends, /(^|, )nodejs \(>= 20(\.\d+)*\)/, 'Depends on nodejs >= 20');
    t.match(depends, /(^|, )adduser(,|$)/);
    t.match(depends, /libc6 \(>= /, 'shlibs of the native addon (dpkg-shlibdeps)');
    t.match(depends, /libstdc\+\+6/);
    t.match(info.stdout, /conffiles/);
    const ctl = join(out, 'DEBIAN');
    t.equal(sh('dpkg-deb', ['-e', deb, ctl]).code, 0);
    t.same(readFileSync(join(ctl, 'conffiles'), 'utf8').trim().split('\n'), ['/etc/default/rbdm', '/etc/logrotate.d/rbdm']);
    t.match(readFileSync(join(ctl, 'postinst'), 'utf8'), /adduser --system --group .*rbdm/);
    t.match(readFileSync(join(ctl, 'postinst'), 'utf8'), /chown rbdm:rbdm/);
  });

  t.test('dpkg-deb -c: contents', async (t) => {
    const c = sh('dpkg-deb', ['-c', deb]);
    t.equal(c.code, 0, c.stderr);
    const paths = c.stdout.split('\n').filter(Boolean).map((l) => l.slice(l.indexOf('./') + 1).replace(/\/$/, '').replace(/ -> .*$/, ''));
    checkList(t, paths);
    t.match(c.stdout, /^-rwxr-xr-x root\/root .* \.\/usr\/bin\/rbdm-mirror$/m, 'wrapper is root-owned and executable');
  });

  t.test('lintian: no errors, every warning overridden with a reason', async (t) => {
    // --fail-on error,warning: an unexplained warning fails like an error. Overridden tags
    // are in packaging/deb/lintian-overrides, each under a comment that says why.
    const l = sh('lintian', ['--fail-on', 'error,warning', '--tag-display-limit', '0', deb], { timeout: 180_000 });
    const tags = l.stdout.split('\n').filter((x) => /^[EW]: /.test(x));
    t.same(tags, [], 'no E: or W: tags');
    t.equal(l.code, 0, l.stdout + l.stderr);
    const overrides = readFileSync(join(ROOT, 'packaging/deb/lintian-overrides'), 'utf8').split('\n');
    overrides.forEach((line, i) => {
      if (/^rbdm: /.test(line)) t.match(overrides[i - 1] ?? '', /^#/, `override has a reason: ${line}`);
    });
  });

  t.test('systemd-analyze verify: the template instance and the target', async (t) => {
    // Verify inside a root made of the extracted package plus this host's systemd units
    // (sysinit.target, network-online.target, ...) and /bin/kill (ExecReload=), so every
    // path the units name is checked for real; MANPATH lets Documentation=man: resolve
    // to the packaged pages.
    const vroot = join(out, 'verify-root');
    cpSync(tree, vroot, { recursive: true, verbatimSymlinks: true });
    cpSync('/usr/lib/systemd/system', join(vroot, 'usr/lib/systemd/system'), { recursive: true, force: false, verbatimSymlinks: true });
    mkdirSync(join(vroot, 'usr/bin'), { recursive: true });
    copyFileSync('/usr/bin/kill', join(vroot, 'usr/bin/kill'));
    if (!existsSync(join(vroot, 'bin'))) symlinkSync('usr/bin', join(vroot, 'bin'));
    const v = sh('systemd-analyze', ['verify', `--root=${vroot}`,
      '/usr/lib/systemd/system/rbdm-mirror@rbd-mirror.a.service', '/usr/lib/systemd/system/rbdm-mirror.target'],
    { env: { ...process.env, MANPATH: join(vroot, 'usr/share/man'), SYSTEMD_PAGER: '' } });
    t.equal(v.code, 0, v.stderr);
    // verify only warns (exit 0) on unknown keys or bad values: any output is a finding.
    t.equal(v.stdout + v.stderr, '', 'systemd-analyze verify prints nothing');
  });

  t.test('the units: Ceph\'s shape, without MemoryDenyWriteExecute', async (t) => {
    const unit = readFileSync(join(tree, 'usr/lib/systemd/system/rbdm-mirror@.service'), 'utf8');
    const lines = unit.split('\n').filter((l) => !l.startsWith('#'));
    for (const want of [
      'ExecStart=/usr/bin/rbdm-mirror -f --cluster ${CLUSTER} --id %i --log-file=/var/log/rbdm/${CLUSTER}-client.%i.log',
      'Environment=CLUSTER=ceph', 'EnvironmentFile=-/etc/default/rbdm', 'ExecReload=/bin/kill -HUP $MAINPID',
      'Restart=on-failure', 'StartLimitBurst=3', 'User=rbdm', 'RuntimeDirectory=rbdm', 'ProtectSystem=full',
      'ProtectHome=true', 'PrivateTmp=true', 'PrivateDevices=yes', 'NoNewPrivileges=true', 'LockPersonality=true',
      'PartOf=rbdm-mirror.target', 'WantedBy=rbdm-mirror.target',
    ]) t.ok(lines.includes(want), want);
    t.notOk(lines.some((l) => l.startsWith('MemoryDenyWriteExecute')), 'V8 aborts under MemoryDenyWriteExecute');
    t.match(readFileSync(join(tree, 'usr/lib/systemd/system/rbdm-mirror.target'), 'utf8'), /^WantedBy=multi-user\.target$/m);
    t.match(readFileSync(join(tree, 'etc/default/rbdm'), 'utf8'), /^CLUSTER=ceph$/m);
    t.match(readFileSync(join(tree, 'etc/logrotate.d/rbdm'), 'utf8'), /systemctl kill .*HUP.*'rbdm-mirror@\*\.service'/);
  });

  t.test('logrotate -d: the config parses and would signal the daemons', async (t) => {
    // Debug mode only reads and reports; a copy points at a log folder of the test's own.
    const logs = join(out, 'logs');
    mkdirSync(logs);
    writeFileSync(join(logs, 'ceph-client.rbd-mirror.a.log'), 'a line\n');
    const conf = join(out, 'logrotate.conf');
    writeFileSync(conf, readFileSync(join(tree, 'etc/logrotate.d/rbdm'), 'utf8').replaceAll('/var/log/rbdm/', `${logs}/`));
    const r = sh('logrotate', ['-d', '-f', '-s', join(out, 'logrotate.state'), conf]);
    t.equal(r.code, 0, r.stderr);
    t.notMatch(r.stdout + r.stderr, /^error:/m);
    t.match(r.stdout + r.stderr, /rotating log .*ceph-client\.rbd-mirror\.a\.log/);
    t.match(r.stdout + r.stderr, /running postrotate script/);
  });

  t.test('rpm -qlp, --scripts, -R: files, user creation, nodejs', async (t) => {
    const l = sh('rpm', ['-qlp', rpm]);
    t.equal(l.code, 0, l.stderr);
    checkList(t, l.stdout.split('\n').filter(Boolean));
    const s = sh('rpm', ['-qp', '--scripts', rpm]).stdout;
    t.match(s, /preinstall scriptlet[\s\S]*groupadd -r rbdm/);
    t.match(s, /useradd -r -g rbdm -d \/var\/lib\/rbdm -s \/sbin\/nologin/);
    const req = sh('rpm', ['-qpR', rpm]).stdout;
    t.match(req, /^nodejs >= 20(\.\d+)*$/m);
    t.match(req, /^libc\.so\.6\(/m, 'ELF requires of the native addon');
    t.same(sh('rpm', ['-qp', '--configfiles', rpm]).stdout.trim().split('\n').sort(), ['/etc/default/rbdm', '/etc/logrotate.d/rbdm']);
    // Ownership comes from %attr, since the user exists only once %pre has run.
    t.match(sh('rpm', ['-qp', '--qf', '[%{FILENAMES} %{FILEUSERNAME}\n]', rpm]).stdout, /^\/var\/lib\/rbdm rbdm$/m);
  });

  const app = join(tree, 'usr/lib/rbdm');
  t.test('extracted .deb: the programs run from the tree on the system node', async (t) => {
    // Run as installed: the shim's own #!/usr/bin/env node, no help from the checkout.
    const v = sh(join(app, 'bin/rbdm.js'), ['--version'], { cwd: tmpdir() });
    t.equal(v.code, 0, v.stderr);
    t.equal(v.stdout.trim(), VERSION);
    const h = sh(process.execPath, [join(app, 'bin/rbdm-mirror.js'), '--help'], { cwd: tmpdir() });
    t.equal(h.code, 0, h.stderr);
    t.match(h.stdout, /--log-file/);
    t.match(h.stdout, /--admin-socket/);
    t.match(readFileSync(join(tree, 'usr/bin/rbdm'), 'utf8'), /^exec \/usr\/bin\/node \/usr\/lib\/rbdm\/bin\/rbdm\.js "\$@"$/m);
    // The daemon's node flags (bin/rbdm-mirror.js's shebang) stay on the installed copy, on the system's node.
    const flags = nodeFlagsOf(join(ROOT, 'bin/rbdm-mirror.js')).map((f) => ` ${f}`).join('');
    t.equal(readFileSync(join(app, 'bin/rbdm-mirror.js'), 'utf8').split('\n', 1)[0], `#!/usr/bin/node${flags}`, 'rbdm-mirror.js names /usr/bin/node with the flags');
    t.match(readFileSync(join(tree, 'usr/bin/rbdm-mirror'), 'utf8'), `exec /usr/bin/node${flags} /usr/lib/rbdm/bin/rbdm-mirror.js "$@"`);
  });

  t.test('extracted .deb: two embedded clusters, image written, exported, imported, same md5', async (t) => {
    const conf = join(out, 'conf');
    mkdirSync(conf);
    const env = { ...process.env, RBDM_CONF_DIR: conf };
    const rbdm = (...args: string[]): Ran => {
      const r = sh(process.execPath, [join(app, 'bin/rbdm.js'), ...args], { env, cwd: tmpdir() });
      t.equal(r.code, 0, `rbdm ${args.join(' ')}: ${r.stderr}`);
      return r;
    };
    for (const c of ['local', 'remote']) {
      rbdm('--cluster', c, 'cluster', 'create', '--data-dir', join(conf, `${c}-data`));
      rbdm('--cluster', c, 'pool', 'create', 'image-pool');
    }
    rbdm('--cluster', 'local', 'create', 'image-pool/image-1', '--size', '64M');
    rbdm('--cluster', 'local', 'bench', '--io-type', 'write', '--io-size', '64K', '--io-pattern', 'rand', '--io-total', '8M', 'image-pool/image-1');
    const img = join(out, 'image-1.img');
    rbdm('--cluster', 'local', 'export', 'image-pool/image-1', img);
    rbdm('--cluster', 'remote', 'import', img, 'image-pool/image-1');
    rbdm('--cluster', 'remote', 'export', 'image-pool/image-1', `${img}.remote`);
    const md5 = (p: string) => createHash('md5').update(readFileSync(p)).digest('hex');
    t.not(md5(img), createHash('md5').update(Buffer.alloc(64 << 20)).digest('hex'), 'bench wrote data');
    t.equal(md5(`${img}.remote`), md5(img), 'remote copy has the same md5');
    t.match(rbdm('--cluster', 'remote', 'ls', '-l', 'image-pool').stdout, /image-1\s+64 MiB/);
  });

  t.test('debootstrap trixie: apt-get install the .deb, run it as the rbdm user, purge', async (t) => {
    // packaging/test-debootstrap.sh downloads a minimal trixie (its nodejs is 20.19) from
    // Debian's archive: about 40 s here. Bounded so a stalled mirror fails instead of hanging.
    const d = sh('bash', [join(ROOT, 'packaging/test-debootstrap.sh'), deb], { cwd: ROOT, timeout: 300_000 });
    t.equal(d.code, 0, d.code === 0 ? 'test-debootstrap.sh exits 0' : d.stdout.slice(-3000) + d.stderr.slice(-3000));
    t.match(d.stdout, /^Depends: nodejs \(>= 20/m);
    t.match(d.stdout, new RegExp(`^rbdm --version: ${VERSION.replaceAll('.', '\\.')}$`, 'm'));
    t.match(d.stdout, /^\/var\/lib\/rbdm rbdm:rbdm 750$/m);
    t.match(d.stdout, /^daemon exit on SIGTERM: 0$/m);
    t.match(d.stdout, /^# \d+s: ok$/m);
    t.comment(d.stdout.split('\n').filter((l) => l.startsWith('# ')).join('\n'));
  });
}
