// Lays out the installed filesystem tree shared by the .deb and the .rpm: wrappers, the app,
// systemd units, conffiles, state/log folders, man pages and the doc folder.
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { dirname, join } from 'node:path';
import { stageApp } from './app.mjs';
import { packageInfo, packagingDir, run } from './common.mjs';

function put(root, path, data, mode = 0o644) {
  const p = join(root, path);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, data);
  chmodSync(p, mode);
}

const src = (p) => readFileSync(join(packagingDir, p));

/** gzip -9n equivalent: no name, no timestamp, so identical inputs give identical bytes. */
const gz = (buf) => gzipSync(buf, { level: 9 });

/** Man pages from the staged programs' own --help and --version, plus the hand-written sections. */
function manPages(root, appDir, work) {
  const { version } = packageInfo();
  for (const [cmd, name] of [['rbdm', 'rbdm'], ['rbdm-mirror', 'rbdm-mirror']]) {
    // help2man runs an executable: a two-line wrapper around the staged (not installed) tree.
    const exe = join(work, cmd);
    writeFileSync(exe, `#!/bin/sh\nexec "${process.execPath}" "${join(appDir, 'bin', `${cmd}.js`)}" "$@"\n`);
    chmodSync(exe, 0o755);
    const page = run('help2man', ['--no-info', '--section=8', `--version-string=${version}`,
      `--include=${join(packagingDir, 'man', `${name}.h2m`)}`, '--source=rbdm', '--manual=System Manager\'s Manual', exe],
    { env: { ...process.env, RBDM_CONF_DIR: join(work, 'conf'), SOURCE_DATE_EPOCH: changelogEpoch() } });
    put(root, `usr/share/man/man8/${name}.8.gz`, gz(Buffer.from(page)));
  }
}

/** The date of the newest changelog entry: man pages and archives carry it, not the build time. */
export function changelogEpoch() {
  const m = /^ -- .*?>  (.+)$/m.exec(src('deb/changelog').toString());
  return String(Math.floor(Date.parse(m[1]) / 1000));
}

/** debian/copyright-style notice: rbdm itself, then each bundled module with its licence. */
function copyright(appDir) {
  const { license } = packageInfo();
  const lines = [
    'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/',
    'Upstream-Name: rbdm',
    'Comment: Node.js modules bundled under /usr/lib/rbdm/node_modules keep their own',
    ' licence texts in their folders there.',
    '',
    'Files: *',
    `Copyright: ${new Date(Number(changelogEpoch()) * 1000).getUTCFullYear()} rbdm maintainers`,
    `License: ${license}`,
    ' On Debian systems the full text of the GNU Lesser General Public License',
    ' version 2.1 is in /usr/share/common-licenses/LGPL-2.1.',
  ];
  for (const { dir, pj } of bundledModules(join(appDir, 'node_modules'))) {
    lines.push('', `Files: usr/lib/rbdm/node_modules/${dir}/*`,
      `Copyright: ${typeof pj.author === 'string' ? pj.author : pj.author?.name ?? `the ${pj.name} authors`}`,
      `License: ${pj.license ?? 'see the package folder'}`,
      ` ${pj.name} ${pj.version}; the licence text is shipped in the module's folder.`);
  }
  return `${lines.join('\n')}\n`;
}

/** Every package folder (scoped or nested) under a node_modules tree. */
export function bundledModules(nm, prefix = '') {
  const out = [];
  for (const e of readdirSync(nm, { withFileTypes: true })) {
    if (!e.isDirectory()) continue;
    if (e.name.startsWith('@')) {
      out.push(...bundledModules(join(nm, e.name), `${prefix}${e.name}/`));
      continue;
    }
    const dir = join(nm, e.name);
    let pj;
    try { pj = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')); } catch { continue; }
    out.push({ dir: `${prefix}${e.name}`, pj });
    try {
      out.push(...bundledModules(join(dir, 'node_modules'), `${prefix}${e.name}/node_modules/`));
    } catch { /* no nested node_modules */ }
  }
  return out;
}

/** Builds the whole tree under `root`; `work` is scratch space. Returns the app folder. */
export function buildTree(root, work) {
  const appDir = stageApp(root, work);
  for (const cmd of ['rbdm', 'rbdm-mirror']) put(root, `usr/bin/${cmd}`, src(`etc/${cmd}.sh`), 0o755);
  for (const unit of ['rbdm-mirror@.service', 'rbdm-mirror.target']) {
    put(root, `usr/lib/systemd/system/${unit}`, src(`systemd/${unit}`));
  }
  put(root, 'etc/default/rbdm', src('etc/default-rbdm'));
  put(root, 'etc/logrotate.d/rbdm', src('etc/logrotate-rbdm'));
  for (const d of ['etc/rbdm', 'var/lib/rbdm', 'var/log/rbdm']) mkdirSync(join(root, d), { recursive: true });
  manPages(root, appDir, work);
  put(root, 'usr/share/doc/rbdm/copyright', copyright(appDir));
  put(root, 'usr/share/doc/rbdm/changelog.gz', gz(src('deb/changelog')));
  normalizeModes(root);
  return appDir;
}

/**
 * 0755 for folders and executables, 0644 for the rest, whatever the builder's umask or the
 * modes in node_modules were: packages must not depend on the build machine's settings.
 */
function normalizeModes(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      chmodSync(p, 0o755);
      normalizeModes(p);
    } else if (e.isFile()) {
      chmodSync(p, (statSync(p).mode & 0o100) !== 0 ? 0o755 : 0o644);
    }
  }
}

/** Files (not folders) under `root`, as absolute package paths, sorted. */
export function listFiles(root, rel = '') {
  const out = [];
  for (const e of readdirSync(join(root, rel), { withFileTypes: true })) {
    const p = `${rel}/${e.name}`;
    if (e.isDirectory()) out.push(...listFiles(root, p));
    else out.push(p);
  }
  return out.sort();
}

