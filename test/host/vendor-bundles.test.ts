/**
 * host/vendor: the packages every command loads come from one bundled file each (README there).
 * Checks that the sources import them only through host/vendor, that the built bundles are
 * self-contained and export what the re-exports declare, and that a real `rbdm` run loads no
 * file of those packages from node_modules.
 */
import { spawnSync } from 'node:child_process';
import { builtinModules } from 'node:module';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import t from 'tap';
import { RBDM, ROOT } from '../harness/cli.js';

const BUNDLED = ['@sinclair/typebox', 'yargs', 'ajv', 'ajv-formats', 'semver'];
const VENDOR_DIST = join(ROOT, 'dist', 'host', 'vendor');

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) return n === 'node_modules' || n === 'ceph-napi' ? [] : tsFiles(p);
    return n.endsWith('.ts') ? [p] : [];
  });
}

/** The package a specifier names: `@scope/name` or `name`, without a subpath. */
function packageOf(spec: string): string {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

t.test('host and modules import the bundled packages only through host/vendor', async (t) => {
  const offenders: string[] = [];
  for (const file of [...tsFiles(join(ROOT, 'host')), ...tsFiles(join(ROOT, 'modules'))]) {
    if (file.startsWith(join(ROOT, 'host', 'vendor'))) continue;
    for (const m of readFileSync(file, 'utf8').matchAll(/^(?:import|export)\s+(?!type\b)[^;]*?from\s+'([^']+)'/gms)) {
      if (BUNDLED.includes(packageOf(m[1]!))) offenders.push(`${relative(ROOT, file)}: ${m[1]}`);
    }
  }
  t.same(offenders, [], 'no runtime import of a bundled package outside host/vendor');
});

t.test('each built bundle imports only Node built-ins and exports what its source declares', async (t) => {
  const files = readdirSync(VENDOR_DIST).filter((n) => n.endsWith('.js')).sort();
  t.same(files, ['ajv.js', 'semver.js', 'typebox.js', 'yargs.js']);
  const builtins = new Set(builtinModules);
  for (const f of files) {
    const text = readFileSync(join(VENDOR_DIST, f), 'utf8');
    const specs = [
      ...[...text.matchAll(/^\s*import\s[^;]*?from\s*"([^"]+)"/gm)].map((m) => m[1]!),
      ...[...text.matchAll(/\b__require\("([^"]+)"\)/g)].map((m) => m[1]!),
    ];
    const foreign = specs.filter((s) => !s.startsWith('node:') && !builtins.has(s));
    t.same(foreign, [], `${f}: no import outside Node's built-ins`);
    t.ok(text.length > 10_000, `${f} is a bundle, not the compiled re-export (${text.length} bytes)`);
  }
  const typebox = await import(join(VENDOR_DIST, 'typebox.js'));
  t.same(typebox.Type.Object({ a: typebox.Type.String() }).required, ['a'], 'TypeBox builds schemas');
  const yargs = (await import(join(VENDOR_DIST, 'yargs.js'))).default;
  t.same(yargs(['--n', 'x', 'y']).parseSync()._, ['y'], 'yargs parses');
  const { Ajv, addFormats } = await import(join(VENDOR_DIST, 'ajv.js'));
  const ajv = new Ajv();
  addFormats(ajv);
  const uuid = ajv.compile({ type: 'string', format: 'uuid' });
  t.same([uuid('00000000-0000-0000-0000-000000000000'), uuid('nope')], [true, false], 'ajv with its formats validates');
  const semver = await import(join(VENDOR_DIST, 'semver.js'));
  t.same([semver.satisfies('1.2.3', '^1.0.0'), semver.validRange('not a range')], [true, null], 'semver answers');
});

t.test('a real rbdm run loads no file of the bundled packages', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rbdm-vendor-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const log = join(dir, 'loaded.txt');
  // A loader hook (it runs on its own thread) that records every URL Node loads.
  const hook = join(dir, 'record.mjs');
  writeFileSync(hook, `import { appendFileSync } from 'node:fs';
export async function load(url, ctx, next) { appendFileSync(${JSON.stringify(log)}, url + '\\n'); return next(url, ctx); }\n`);
  const r = spawnSync(process.execPath, ['--no-warnings', '--loader', hook, RBDM, 'mirror', 'pool', '--help'], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /mirror pool commands/, 'the help printed');
  const loaded = readFileSync(log, 'utf8').trim().split('\n');
  t.ok(loaded.some((u) => u.endsWith('/dist/host/vendor/yargs.js')), 'yargs came from its bundle');
  const fromPackages = loaded.filter((u) => BUNDLED.some((p) => u.includes(`/node_modules/${p}/`)));
  t.same(fromPackages, [], 'nothing loaded from the bundled packages\' own files');
  t.comment(`${loaded.length} files loaded by \`rbdm mirror pool --help\``);
});
