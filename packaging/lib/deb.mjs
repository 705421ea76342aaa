// Builds rbdm_<version>_<arch>.deb from the staged tree with dpkg-deb (no debhelper: the
// package is assembled from an npm build, not from a debian/ source package).
import { chmodSync, copyFileSync, cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { nodeRequirement } from './app.mjs';
import { arches, maintainer, packageInfo, packagingDir, run, summary } from './common.mjs';
import { changelogEpoch, listFiles } from './tree.mjs';

/** The ELF objects in the tree, for dpkg-shlibdeps. */
function elfFiles(root) {
  return listFiles(root).filter((f) => f.endsWith('.node')).map((f) => join(root, f));
}

/**
 * ${shlibs:Depends} for the native addons, computed by dpkg-shlibdeps as debhelper would.
 * It wants a debian/control naming the binary package, so it runs in a scratch source tree.
 */
function shlibsDepends(root, work) {
  const src = join(work, 'shlibs');
  mkdirSync(join(src, 'debian'), { recursive: true });
  writeFileSync(join(src, 'debian/control'), 'Source: rbdm\n\nPackage: rbdm\nArchitecture: any\n');
  const out = run('dpkg-shlibdeps', ['-O', '--ignore-missing-info', ...elfFiles(root)], { cwd: src });
  return /shlibs:Depends=(.*)/.exec(out)?.[1]?.trim() ?? '';
}

function installedSizeKiB(root) {
  return run('du', ['-sk', '--apparent-size', root]).split('\t')[0];
}

function control(root, work) {
  const { name, version } = packageInfo();
  const depends = [`nodejs (>= ${nodeRequirement()})`, 'adduser', shlibsDepends(root, work)].filter(Boolean).join(', ');
  return [
    `Package: ${name}`,
    `Version: ${version}`,
    `Architecture: ${arches().deb}`,
    `Maintainer: ${maintainer}`,
    `Installed-Size: ${installedSizeKiB(root)}`,
    `Depends: ${depends}`,
    'Recommends: logrotate',
    'Section: admin',
    'Priority: optional',
    `Description: ${summary}`,
    ' rbdm mirrors RBD images between two storage clusters, asynchronously and',
    ' crash-consistently, with the commands Ceph operators already know. It is a',
    ' Ceph-Manager-style module host: the rbdm-mirror daemon loads modules that',
    ' declare their commands as data, and the rbdm admin CLI is generated from them.',
    ' .',
    ' This package ships both programs on the system Node.js, the',
    ' rbdm-mirror@.service systemd template with rbdm-mirror.target, and logrotate',
    ' and default settings.',
    '',
  ].join('\n');
}

function md5sums(root) {
  return listFiles(root).map((f) => `${createHash('md5').update(readFileSync(join(root, f))).digest('hex')}  ${f.slice(1)}\n`).join('');
}

/** Builds the .deb into `outDir` and returns its path. `root` is the staged tree (copied). */
export function buildDeb(root, outDir, work) {
  const { name, version } = packageInfo();
  const pkgRoot = join(work, 'deb-root');
  cpSync(root, pkgRoot, { recursive: true, verbatimSymlinks: true });
  // Lintian reads overrides from their usual place in the installed package.
  const ovr = join(pkgRoot, 'usr/share/lintian/overrides');
  mkdirSync(ovr, { recursive: true });
  copyFileSync(join(packagingDir, 'deb/lintian-overrides'), join(ovr, name));
  chmodSync(join(ovr, name), 0o644);
  const DEBIAN = join(pkgRoot, 'DEBIAN');
  mkdirSync(DEBIAN);
  // md5sums before control: it lists package files only.
  const sums = md5sums(pkgRoot);
  writeFileSync(join(DEBIAN, 'control'), control(pkgRoot, work));
  writeFileSync(join(DEBIAN, 'md5sums'), sums);
  writeFileSync(join(DEBIAN, 'conffiles'), '/etc/default/rbdm\n/etc/logrotate.d/rbdm\n');
  for (const s of ['postinst', 'prerm', 'postrm']) {
    copyFileSync(join(packagingDir, 'deb', s), join(DEBIAN, s));
    chmodSync(join(DEBIAN, s), 0o755);
  }
  const deb = join(outDir, `${name}_${version}_${arches().deb}.deb`);
  // --root-owner-group: every file root:root without fakeroot; the rbdm user owns its two
  // folders once postinst has created it. Clamped mtimes make rebuilds byte-identical.
  run('dpkg-deb', ['--root-owner-group', '-Zxz', '--build', pkgRoot, deb], {
    env: { ...process.env, SOURCE_DATE_EPOCH: changelogEpoch() },
  });
  return deb;
}
