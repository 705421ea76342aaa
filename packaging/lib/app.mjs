// Stages the application as installed under /usr/lib/rbdm: compiled dist/ (without tests),
// the bin/ shims, a trimmed package.json and the production dependencies with the native
// addon already built for this machine's Node (taken from the checkout's `npm ci`).
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleVendor } from '../../scripts/bundle-vendor.mjs';
import { nodeMajor, packageInfo, repoRoot, run } from './common.mjs';

/** Compiles host/, modules/ and schemas/ (never test/) straight into `<appDir>/dist`. */
function compile(appDir, work) {
  // A throwaway tsconfig that extends the project's: same compiler options, fewer inputs, no maps
  // (they would point at TypeScript sources the package does not ship).
  const cfg = join(work, 'tsconfig.package.json');
  writeFileSync(cfg, JSON.stringify({
    extends: join(repoRoot, 'tsconfig.json'),
    compilerOptions: {
      rootDir: repoRoot, outDir: join(appDir, 'dist'), sourceMap: false, incremental: false,
      // Type roots resolve from the config's folder, which is outside the checkout here.
      typeRoots: [join(repoRoot, 'node_modules/@types')],
    },
    include: ['host', 'modules', 'schemas'].map((d) => join(repoRoot, d, '**/*.ts')),
    exclude: [join(repoRoot, 'host/ceph-napi')],
  }));
  run(process.execPath, [join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', cfg]);
  bundleVendor(join(appDir, 'dist'));
  // Built-in modules may carry non-TS files (READMEs, JSON) next to their code: keep the JSON.
  copyAssets(join(repoRoot, 'modules'), join(appDir, 'dist/modules'));
}

function copyAssets(src, dst) {
  for (const e of readdirSync(src, { withFileTypes: true })) {
    if (e.isDirectory()) copyAssets(join(src, e.name), join(dst, e.name));
    else if (e.name.endsWith('.json')) {
      mkdirSync(dst, { recursive: true });
      copyFileSync(join(src, e.name), join(dst, e.name));
    }
  }
}

/**
 * The lockfile paths the app needs at run time: the closure of package.json's dependencies,
 * resolved as Node does (nearest node_modules up the tree). Workspaces are left out: bin/
 * only links the CLIs in a checkout, and host/ceph-napi (and its build-time node-addon-api)
 * is the optional librados addon, which this package does not ship.
 */
export function runtimePackages(lock) {
  const pkgs = lock.packages;
  const resolve = (from, name) => {
    for (let base = from; ; base = base.includes('/node_modules/') ? base.slice(0, base.lastIndexOf('/node_modules/')) : '') {
      const cand = `${base ? `${base}/` : ''}node_modules/${name}`;
      if (pkgs[cand]) return cand;
      if (!base) return undefined;
    }
  };
  const seen = new Set();
  const visit = (from, entry) => {
    const deps = { ...entry.dependencies, ...entry.optionalDependencies, ...entry.peerDependencies };
    for (const name of Object.keys(deps)) {
      const path = resolve(from, name);
      const optional = name in (entry.optionalDependencies ?? {}) || entry.peerDependenciesMeta?.[name]?.optional;
      if (!path || pkgs[path].link) {
        if (optional) continue;
        throw new Error(`package-lock.json: ${from || 'rbdm'} needs ${name}, which it does not resolve`);
      }
      // An optional dependency for another platform is in the lockfile but not installed.
      if (seen.has(path) || (optional && !existsSync(join(repoRoot, path)))) continue;
      seen.add(path);
      visit(path, pkgs[path]);
    }
  };
  visit('', pkgs['']);
  return [...seen].sort();
}

/**
 * Production node_modules, copied from the checkout's (addons already compiled against this
 * Node by `npm ci`): no download, no rebuild, and only what run time needs is read.
 */
function dependencies(appDir) {
  const lock = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8'));
  for (const path of runtimePackages(lock)) {
    const from = join(repoRoot, path);
    // Nested node_modules hold separate lockfile entries: copied, or not, on their own.
    cpSync(from, join(appDir, path), { recursive: true, filter: (f) => !f.startsWith(join(from, 'node_modules')) });
  }
  const nm = join(appDir, 'node_modules');
  trimBetterSqlite3(join(nm, 'better-sqlite3'));
  trimTree(nm);
}

/** Fails the build when a production dependency is missing or at the wrong version. */
function checkDependencies(appDir) {
  run('npm', ['ls', '--omit=dev', '--all', '--offline'], { cwd: appDir });
}

/** better-sqlite3 ships its C sources and build tree; at run time only the .node and lib/ matter. */
function trimBetterSqlite3(dir) {
  const addon = join(dir, 'build/Release/better_sqlite3.node');
  statSync(addon); // fail loudly if `npm ci` did not build it
  const keep = join(dir, '.addon.node');
  renameSync(addon, keep);
  for (const p of ['build', 'deps', 'src', 'binding.gyp']) rmSync(join(dir, p), { recursive: true, force: true });
  mkdirSync(join(dir, 'build/Release'), { recursive: true });
  renameSync(keep, addon);
  // As dh_strip does: debug symbols and notes out, the dynamic symbol table kept.
  run('strip', ['--strip-unneeded', '--remove-section=.comment', '--remove-section=.note', addon]);
  chmodSync(addon, 0o644);
}

/** Folders that npm packages ship for their own development, at a package's top level. */
const DEV_DIRS = new Set(['test', 'tests', 'test-jest', '__tests__', 'benchmark', 'benchmarks', 'docs', 'example', 'examples', '.github']);

/**
 * What is left for developers in production dependencies goes: TypeScript sources and
 * declarations, source maps, dotfiles (CI and lint configs), test/benchmark/docs folders.
 * Node never loads any of it. Executable bits go exactly to scripts (#!), and the empty
 * scope folders that prune leaves behind are removed.
 */
function trimTree(dir, isPackageTop = false) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name.startsWith('.') || (isPackageTop && DEV_DIRS.has(e.name))) {
        rmSync(p, { recursive: true });
        continue;
      }
      // node_modules/<pkg> and node_modules/@scope/<pkg> are package tops.
      const top = e.name !== 'node_modules' && (dir.endsWith('node_modules') || /node_modules\/@[^/]+$/.test(dir)) && !e.name.startsWith('@');
      trimTree(p, top);
      if (readdirSync(p).length === 0) rmSync(p, { recursive: true });
    } else if (e.name.startsWith('.') || /\.([cm]?ts|map)$/.test(e.name)) {
      rmSync(p);
    } else {
      // Executable if and only if it is a script; addons (.node) are shared objects: 0644.
      chmodSync(p, isScript(p) ? 0o755 : 0o644);
    }
  }
}

function isScript(p) {
  return readFileSync(p).subarray(0, 2).toString() === '#!';
}

/** The manifest installed beside dist/: identity and runtime needs only (no scripts, no dev deps). */
function manifest(appDir) {
  const { pj } = packageInfo();
  const keep = { name: pj.name, version: pj.version, description: pj.description, type: pj.type, license: pj.license, engines: pj.engines, dependencies: pj.dependencies };
  writeFileSync(join(appDir, 'package.json'), `${JSON.stringify(keep, null, 2)}\n`);
}

/** Builds `<root>/usr/lib/rbdm`; `work` is scratch space. Returns the app dir. */
export function stageApp(root, work) {
  const appDir = join(root, 'usr/lib/rbdm');
  mkdirSync(join(appDir, 'bin'), { recursive: true });
  compile(appDir, work);
  for (const f of ['rbdm.js', 'rbdm-mirror.js']) {
    // `#!/usr/bin/env -S [NAME=VALUE ...] node FLAGS` (a checkout finds node on PATH) names the
    // system's node in the package: lintian flags `env -S` as an unusual interpreter. The
    // environment (rbdm-mirror's GLIBC_TUNABLES) comes from the wrapper in /usr/bin instead,
    // which systemd runs (packaging/etc/rbdm-mirror.sh).
    const text = readFileSync(join(repoRoot, 'bin', f), 'utf8').replace(/^#!\/usr\/bin\/env -S (?:[A-Z_]+=\S+ )*node\b/, '#!/usr/bin/node');
    writeFileSync(join(appDir, 'bin', f), text);
    chmodSync(join(appDir, 'bin', f), 0o755);
  }
  manifest(appDir);
  dependencies(appDir);
  checkDependencies(appDir);
  return appDir;
}

/** Minimum Node version for the package dependencies, from engines (">=20.19" → "20.19"). */
export function nodeRequirement() {
  const { pj } = packageInfo();
  const m = /(\d+(?:\.\d+)*)/.exec(pj.engines?.node ?? '');
  return m ? m[1] : String(nodeMajor(pj));
}

/** Reads a staged JSON file (tests and the copyright generator use it). */
export function readJson(path) {
  return JSON.parse(readFileSync(path, 'utf8'));
}
