// Builds rbdm-<version>-1.<arch>.rpm from the staged tree with rpmbuild -bb and a spec
// filled in from packaging/rpm/rbdm.spec.in.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nodeRequirement } from './app.mjs';
import { arches, packageInfo, packagingDir, run } from './common.mjs';

/** The Debian changelog's entries as an RPM %changelog (one changelog, two formats). */
export function rpmChangelog(debChangelog) {
  const entries = [];
  let cur;
  for (const line of debChangelog.split('\n')) {
    let m;
    if ((m = /^\S+ \(([^)]+)\)/.exec(line))) entries.push((cur = { version: m[1], items: [] }));
    else if ((m = /^ {2}\* (.*)$/.exec(line)) && cur) cur.items.push(m[1]);
    else if ((m = /^ {4}(\S.*)$/.exec(line)) && cur?.items.length) cur.items[cur.items.length - 1] += ` ${m[1]}`;
    else if ((m = /^ -- (.+?)  (.+)$/.exec(line)) && cur) Object.assign(cur, { who: m[1], date: new Date(m[2]) });
  }
  return entries.map((e) => {
    // RPM wants "Wed Nov 25 2026"; toUTCString gives "Wed, 25 Nov 2026 ...".
    const [dow, day, mon, year] = e.date.toUTCString().replace(',', '').split(' ');
    return `* ${dow} ${mon} ${day} ${year} ${e.who} - ${e.version}-1\n${e.items.map((i) => `- ${i}`).join('\n')}`;
  }).join('\n\n');
}

/** Builds the .rpm into `outDir` from the staged `root`; returns its path. */
export function buildRpm(root, outDir, work) {
  const { name, version } = packageInfo();
  const top = join(work, 'rpmbuild');
  for (const d of ['BUILD', 'BUILDROOT', 'RPMS', 'SPECS', 'SRPMS', 'tmp']) mkdirSync(join(top, d), { recursive: true });
  const spec = readFileSync(join(packagingDir, 'rpm/rbdm.spec.in'), 'utf8')
    .replaceAll('@VERSION@', version)
    .replaceAll('@NODE@', nodeRequirement())
    .replaceAll('@ROOT@', root)
    .replaceAll('@CHANGELOG@', rpmChangelog(readFileSync(join(packagingDir, 'deb/changelog'), 'utf8')));
  const specPath = join(top, 'SPECS', `${name}.spec`);
  writeFileSync(specPath, spec);
  run('rpmbuild', [
    '-bb', specPath,
    '--define', `_topdir ${top}`,
    '--define', `_tmppath ${join(top, 'tmp')}`,
    '--define', `_rpmdir ${outDir}`,
    '--define', '_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm',
    // Debian's rpm has no RPM database of build dependencies to check against.
    '--nodeps',
  ]);
  return join(outDir, `${name}-${version}-1.${arches().rpm}.rpm`);
}
