#!/usr/bin/env node
// Compile (and bundle host/vendor) first, then test the compiled JS (see DESIGN: tests run on dist/, workers are .js).
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';

rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
const tsc = spawnSync('npx', ['tsc', '-p', '.'], { stdio: 'inherit' });
if (tsc.status !== 0) {
  process.stdout.write(`# tsc failed (exit ${tsc.status}); tests not run\n0 passed, 1 failed\n`);
  process.exit(1);
}
const bundle = spawnSync(process.execPath, [new URL('./bundle-vendor.mjs', import.meta.url).pathname], { stdio: 'inherit' });
if (bundle.status !== 0) {
  process.stdout.write(`# bundling host/vendor failed (exit ${bundle.status}); tests not run\n0 passed, 1 failed\n`);
  process.exit(1);
}
const args = process.argv.slice(2);
const tap = spawnSync('npx', ['tap', ...args], { stdio: 'inherit' });
process.exit(tap.status ?? 1);
