// npm "install" script: builds the addon with node-gyp when librados' headers are present,
// otherwise skips with a message and exits 0, so a machine without librados still installs
// (rbdm then runs on the embedded backend; `backend = ceph` reports ERR_BACKEND_UNAVAILABLE).
// CEPH_NAPI_RADOS_HEADER overrides the header path checked (tests point it at a missing
// file to simulate a machine without librados-dev); CEPH_NAPI_SKIP_BUILD=1 skips outright.
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const header = process.env.CEPH_NAPI_RADOS_HEADER || '/usr/include/rados/librados.h';

function skip(why) {
  // A stale build from an earlier install would otherwise still load.
  rmSync(join(root, 'build'), { recursive: true, force: true });
  console.log(`ceph-napi: ${why}; not building the librados addon (backend = ceph unavailable, embedded works).`);
  console.log('ceph-napi: to build it: apt-get install librados-dev g++ make python3, then npm rebuild ceph-napi');
  process.exit(0);
}

if (process.env.CEPH_NAPI_SKIP_BUILD === '1') skip('CEPH_NAPI_SKIP_BUILD=1');
if (!existsSync(header)) skip(`${header} not found (librados-dev is not installed)`);

// npm puts its bundled node-gyp on PATH for lifecycle scripts; npm_config_node_gyp names it.
const gyp = process.env.npm_config_node_gyp;
const [cmd, args] = gyp ? [process.execPath, [gyp, 'rebuild']] : ['node-gyp', ['rebuild']];
const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
if (r.error) {
  console.error(`ceph-napi: cannot run node-gyp: ${r.error.message}`);
  process.exit(1);
}
process.exit(r.status ?? 1);
