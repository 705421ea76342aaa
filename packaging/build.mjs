#!/usr/bin/env node
// `npm run package`: builds rbdm_<version>_<arch>.deb and rbdm-<version>-1.<arch>.rpm into
// packaging/out/ (or --out DIR). Both come from one staged tree, built from this checkout
// after `npm ci` (its compiled better-sqlite3 addon is reused, so nothing is downloaded).
//
//   node packaging/build.mjs [--out DIR] [--only deb|rpm] [--keep-work]
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { packagingDir, requireTools } from './lib/common.mjs';
import { buildDeb } from './lib/deb.mjs';
import { buildRpm } from './lib/rpm.mjs';
import { buildTree } from './lib/tree.mjs';

/** Debian package of each tool the build runs. */
const TOOLS = {
  deb: { 'dpkg-deb': 'dpkg', 'dpkg-shlibdeps': 'dpkg-dev' },
  rpm: { rpmbuild: 'rpm' },
  both: { help2man: 'help2man', strip: 'binutils', npm: 'nodejs' },
};

/** Builds the requested formats; returns { deb?, rpm?, seconds }. Used by the tests too. */
export function buildPackages({ out = join(packagingDir, 'out'), only, keepWork = false, log = () => {} } = {}) {
  const t0 = Date.now();
  const formats = only ? [only] : ['deb', 'rpm'];
  requireTools(Object.assign({}, TOOLS.both, ...formats.map((f) => TOOLS[f])));
  out = resolve(out);
  mkdirSync(out, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), 'rbdm-package-'));
  const result = {};
  try {
    const root = join(work, 'root');
    log('staging the installed tree');
    buildTree(root, work);
    if (formats.includes('deb')) {
      log('building the .deb');
      result.deb = buildDeb(root, out, work);
    }
    if (formats.includes('rpm')) {
      log('building the .rpm');
      result.rpm = buildRpm(root, out, work);
    }
  } finally {
    if (keepWork) log(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
  result.seconds = (Date.now() - t0) / 1000;
  return result;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { out: { type: 'string' }, only: { type: 'string' }, 'keep-work': { type: 'boolean' } } });
  if (values.only && !['deb', 'rpm'].includes(values.only)) {
    process.stderr.write('build.mjs: --only takes deb or rpm\n');
    process.exit(22);
  }
  try {
    const r = buildPackages({ out: values.out, only: values.only, keepWork: values['keep-work'], log: (m) => process.stdout.write(`# ${m}\n`) });
    for (const f of [r.deb, r.rpm].filter(Boolean)) process.stdout.write(`${f}\n`);
    process.stdout.write(`# built in ${r.seconds.toFixed(1)} s\n`);
  } catch (e) {
    process.stderr.write(`build.mjs: ${e.message}\n`);
    process.exit(1);
  }
}
