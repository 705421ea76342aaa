#!/usr/bin/env node
// `npm run bench`: compile (and bundle host/vendor), then run the benchmarks in test/bench/ from dist/.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { bundleVendor } from './bundle-vendor.mjs';

const tsc = spawnSync('npx', ['tsc', '-p', '.'], { stdio: 'inherit' });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);
bundleVendor(fileURLToPath(new URL('../dist', import.meta.url)));
for (const b of ['dist/test/bench/run.js']) {
  const r = spawnSync(process.execPath, [b], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
