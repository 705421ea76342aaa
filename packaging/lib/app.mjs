// Stages the application as installed under /usr/lib/rbdm: compiled dist/ (without tests),
// the bin/ shims, a trimmed package.json and the production dependencies with the native
// addon already built for this machine's Node (taken from the checkout's `npm ci`, pruned).
import { chmodSync, copyFileSync, cpSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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
 * Production node_modules: a copy of the checkout's (addons already compiled against this
 * Node by `npm ci`), pruned by npm itself from the lockfile, offline. No download, no rebuild.
 */
function dependencies(appDir, work) {
  const tmp = join(work, 'prune');
  mkdirSync(join(tmp, 'bin'), { recursive: true });
  for (const f of ['package.json', 'package-lock.json']) copyFileSync(join(repoRoot, f), join(tmp, f));
  // The lockfile names the bin/ workspace: npm needs its manifest to prune consistently.
  copyFileSync(join(repoRoot, 'bin/package.json'), join(tmp, 'bin/package.json'));
  cpSync(join(repoRoot, 'node_modules'), join(tmp, 'node_modules'), { recursive: true, verbatimSymlinks: true });
  run('npm', ['prune', '--omit=dev', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: tmp });
  const nm = join(tmp, 'node_modules');
  // The workspace link, bin links and npm's hidden lockfile only serve a development checkout.
  for (const p of ['.bin', '@rbdm', '.package-lock.json']) rmSync(join(nm, p), { recursive: true, force: true });
  trimBetterSqlite3(join(nm, 'better-sqlite3'));
  trimTree(nm);
  renameSync(nm, join(appDir, 'node_modules'));
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
 * Node never loads any of it. Executable bits stay only on real scripts (#!), and the empty
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
    } else if ((statSync(p).mode & 0o111) !== 0 && !isScript(p)) {
      chmodSync(p, 0o644);
    }
  }
}

function isScript(p) {
  const head = readFileSync(p).subarray(0, 4);
  return head.subarray(0, 2).toString() === '#!' || head.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
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
    copyFileSync(join(repoRoot, 'bin', f), join(appDir, 'bin', f));
    chmodSync(join(appDir, 'bin', f), 0o755);
  }
  manifest(appDir);
  dependencies(appDir, work);
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
