#!/usr/bin/env node
// After tsc: replaces each compiled re-export in <dist>/host/vendor/ with a single-file
// esbuild bundle of the same exports (host/vendor/README.md says why).
//
//   node scripts/bundle-vendor.mjs [DIST]      (default: the checkout's dist/)
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';

/** The checkout's packages: a packaging build bundles a dist/ staged outside the checkout. */
const NODE_MODULES = fileURLToPath(new URL('../node_modules', import.meta.url));

export function bundleVendor(dist) {
  const dir = join(dist, 'host', 'vendor');
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.js'))) {
    const file = join(dir, f);
    buildSync({
      entryPoints: [file],
      outfile: file,
      allowOverwrite: true,
      bundle: true,
      nodePaths: [NODE_MODULES],
      platform: 'node',
      format: 'esm',
      target: 'node20',
      logLevel: 'warning',
      // CommonJS packages inside an ES module bundle still call require() for Node's builtins.
      banner: { js: "import { createRequire as __rbdmRequire } from 'node:module'; const require = __rbdmRequire(import.meta.url);" },
    });
    rmSync(`${file}.map`, { force: true }); // tsc's map described the re-export, not the bundle
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  bundleVendor(process.argv[2] ?? fileURLToPath(new URL('../dist', import.meta.url)));
}
