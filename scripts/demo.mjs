#!/usr/bin/env node
// The README's first command runs this: two embedded clusters, a journaled image written
// with `rbdm bench`, exported, checksummed. Every step is a real `rbdm` command, printed as
// it runs, so the demo doubles as a walk-through. It grows into the seed's mirroring
// walk-through as mirroring lands.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const rbdm = join(root, 'bin', 'rbdm.js');
const keep = process.argv.includes('--keep');
const dir = mkdtempSync(join(tmpdir(), 'rbdm-demo-'));
const env = { ...process.env, RBDM_CONF_DIR: dir };

function step(args, { quiet = false } = {}) {
  process.stdout.write(`$ rbdm ${args.map((a) => (/[\s']/.test(a) ? `'${a}'` : a)).join(' ')}\n`);
  const r = spawnSync(process.execPath, [rbdm, ...args], { env, encoding: 'utf8' });
  if (!quiet && r.stdout) process.stdout.write(r.stdout);
  if (r.stderr) process.stdout.write(r.stderr);
  if (r.status !== 0) {
    process.stderr.write(`demo: step failed with exit code ${r.status}\n`);
    process.exit(r.status ?? 1);
  }
  return r.stdout;
}

process.stdout.write(`# conf directory: ${dir} (RBDM_CONF_DIR)\n`);
for (const c of ['local', 'remote']) {
  step(['--cluster', c, 'cluster', 'create', '--data-dir', join(dir, `${c}-data`)]);
  step(['--cluster', c, 'pool', 'create', 'image-pool']);
  step(['--cluster', c, 'pool', 'init', 'image-pool']);
}
// Seed: POOL CONFIGURATION on both clusters (mirroring replay arrives with the daemon issue).
for (const [c, peer] of [['local', 'remote'], ['remote', 'local']]) {
  step(['--cluster', c, 'mirror', 'pool', 'enable', 'image-pool', 'pool']);
  step(['--cluster', c, 'auth', 'get-or-create', `client.${c}`, 'mon', 'profile rbd', 'osd', 'profile rbd',
    '-o', join(dir, `${c}.client.${c}.keyring`)]);
  step(['--cluster', c, 'mirror', 'pool', 'peer', 'add', 'image-pool', `client.${peer}@${peer}`]);
}
step(['--cluster', 'local', 'mirror', 'pool', 'info', 'image-pool']);
step(['--cluster', 'local', 'auth', 'get-or-create', 'client.rbd-mirror.a', 'mon', 'profile rbd', 'osd', 'profile rbd',
  '-o', join(dir, 'local.client.rbd-mirror.a.keyring')]);
step(['--cluster', 'local', 'create', 'image-pool/image-1', '--size', '1G', '--image-feature', 'exclusive-lock,journaling']);
step(['--cluster', 'local', 'info', 'image-pool/image-1']);
step(['--cluster', 'local', 'journal', 'info', 'image-pool/image-1']);
step(['--cluster', 'local', 'bench', '--io-type', 'write', '--io-size', '4K', '--io-pattern', 'rand', '--io-total', '16M', 'image-pool/image-1']);
step(['--cluster', 'local', 'bench', '--io-type', 'write', '--io-size', '1M', '--io-pattern', 'seq', '--io-total', '64M', 'image-pool/image-1']);
step(['--cluster', 'local', 'ls', '-l', 'image-pool']);
step(['--cluster', 'local', 'journal', 'status', 'image-pool/image-1']);
const out = join(dir, 'image-1.img');
step(['--cluster', 'local', 'export', 'image-pool/image-1', out]);
const md5 = createHash('md5').update(readFileSync(out)).digest('hex');
process.stdout.write(`${md5}  image-pool/image-1 (local)\n`);
step(['--cluster', 'remote', 'import', out, 'image-pool/image-1']);
step(['--cluster', 'remote', 'export', 'image-pool/image-1', `${out}.remote`]);
const md5r = createHash('md5').update(readFileSync(`${out}.remote`)).digest('hex');
process.stdout.write(`${md5r}  image-pool/image-1 (remote, imported)\n`);
if (md5 !== md5r) {
  process.stderr.write('demo: checksums differ\n');
  process.exit(1);
}
process.stdout.write('demo: checksums match\n');
if (keep) process.stdout.write(`# kept ${dir}\n`);
else rmSync(dir, { recursive: true, force: true });
