// Helpers shared by the deb and rpm builders: running tools, the package's identity, and
// the target architecture names of both formats.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The checkout root (packaging/lib/ → ../..). */
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
/** The packaging/ folder: templates, units and maintainer scripts live here. */
export const packagingDir = fileURLToPath(new URL('../', import.meta.url));

/** Runs a tool and returns its stdout; on failure the error carries the tool's stderr. */
export function run(cmd, args, opts = {}) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20, ...opts });
  } catch (e) {
    const err = new Error(`${cmd} ${args.join(' ')} failed (exit ${e.status}):\n${e.stderr ?? ''}${e.stdout ?? ''}`);
    err.cause = e;
    throw err;
  }
}

/** True when `cmd` is on PATH; the builders say which Debian package to install when not. */
export function have(cmd) {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function requireTools(tools) {
  const missing = Object.entries(tools).filter(([cmd]) => !have(cmd));
  if (missing.length) {
    const pkgs = [...new Set(missing.map(([, pkg]) => pkg))].join(' ');
    throw new Error(`missing ${missing.map(([c]) => c).join(', ')}: apt-get install ${pkgs} (see .ci/apt-packages.d/packaging.txt)`);
  }
}

/** name, version, description and license from the checkout's package.json. */
export function packageInfo() {
  const pj = JSON.parse(readFileSync(new URL('package.json', `file://${repoRoot}`), 'utf8'));
  return { name: pj.name, version: pj.version, description: pj.description, license: pj.license, pj };
}

/** Architecture names of the build machine: the addon is built here, so the package is for it. */
export function arches() {
  return {
    deb: run('dpkg', ['--print-architecture']).trim(),
    rpm: run('uname', ['-m']).trim(),
  };
}

/** The node version the packages require, from the engines range's major (">=20.19" → 20). */
export function nodeMajor(pj) {
  const m = /(\d+)/.exec(pj.engines?.node ?? '');
  return m ? Number(m[1]) : 20;
}

/** Summary line shared by both formats (the first sentence of the description). */
export const summary = 'asynchronous RBD image mirroring between two clusters';

export const maintainer = process.env.RBDM_PACKAGE_MAINTAINER ?? 'rbdm maintainers <maintainers@users.noreply.r-seed-27e66e1f.example>';
