#!/usr/bin/env node
// The README's first command runs this: the seed's mirroring walk-through on two embedded
// clusters. Pool mode on both, peers both ways, one daemon user per cluster, both
// `rbdm-mirror` daemons running, a journaled image written with `rbdm bench` on `local`,
// then the mirror caught up on `remote` (export checksums shown) and its status printed.
// Every step is a real `rbdm` command, printed as it runs.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const rbdm = join(root, 'bin', 'rbdm.js');
const rbdmMirror = join(root, 'bin', 'rbdm-mirror.js');
// Started as its shebang would: with the node flags on its first line.
const mirrorNodeFlags = (/^#!.*\bnode\b(.*)$/.exec(readFileSync(rbdmMirror, 'utf8').split('\n', 1)[0]) ?? ['', ''])[1].trim().split(/\s+/).filter(Boolean);
const keep = process.argv.includes('--keep');
const dir = mkdtempSync(join(tmpdir(), 'rbdm-demo-'));
const env = { ...process.env, RBDM_CONF_DIR: dir };
const IMAGE = 'image-pool/image-1';
const daemons = [];

function fail(message) {
  process.stderr.write(`demo: ${message}\n`);
  for (const d of daemons) d.child.kill('SIGKILL');
  process.stderr.write(`# kept ${dir} for inspection (daemon logs *.log)\n`);
  process.exit(1);
}

function show(args) {
  process.stdout.write(`$ rbdm ${args.map((a) => (/[\s']/.test(a) ? `'${a}'` : a)).join(' ')}\n`);
}

function rbdmRun(args) {
  return spawnSync(process.execPath, [rbdm, ...args], { env, encoding: 'utf8' });
}

function step(args, { quiet = false } = {}) {
  show(args);
  const r = rbdmRun(args);
  if (!quiet && r.stdout) process.stdout.write(r.stdout);
  if (r.stderr) process.stdout.write(r.stderr);
  if (r.status !== 0) fail(`step failed with exit code ${r.status}`);
  return r.stdout;
}

function startDaemon(cluster) {
  const log = join(dir, `${cluster}-rbd-mirror.a.log`);
  const asok = join(dir, `${cluster}-client.rbd-mirror.a.asok`);
  const args = ['-f', '--cluster', cluster, '--id', 'rbd-mirror.a', `--log-file=${log}`, '--admin-socket', asok];
  process.stdout.write(`$ rbdm-mirror ${args.join(' ')} &\n`);
  const child = spawn(process.execPath, [...mirrorNodeFlags, rbdmMirror, ...args], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise((res) => child.on('exit', (code, signal) => res(code ?? signal)));
  daemons.push({ cluster, child, exited, log, asok });
}

function md5Of(cluster) {
  const file = join(dir, `${cluster}-image-1.img`);
  rmSync(file, { force: true }); // export refuses to overwrite, as rbd's does
  const r = rbdmRun(['--cluster', cluster, 'export', IMAGE, file, '--no-progress']);
  if (r.status !== 0) return undefined;
  return createHash('md5').update(readFileSync(file)).digest('hex');
}

async function waitFor(what, cond, ms = 180_000) {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

process.stdout.write(`# conf directory: ${dir} (RBDM_CONF_DIR)\n`);
for (const c of ['local', 'remote']) {
  step(['--cluster', c, 'cluster', 'create', '--data-dir', join(dir, `${c}-data`)]);
  step(['--cluster', c, 'pool', 'create', 'image-pool']);
  step(['--cluster', c, 'pool', 'init', 'image-pool']);
}
// Seed: POOL CONFIGURATION, ADD CLUSTER PEER (both ways), RBD-MIRROR DAEMON users.
for (const [c, peer] of [['local', 'remote'], ['remote', 'local']]) {
  step(['--cluster', c, 'mirror', 'pool', 'enable', 'image-pool', 'pool']);
  step(['--cluster', c, 'auth', 'get-or-create', `client.${c}`, 'mon', 'profile rbd', 'osd', 'profile rbd',
    '-o', join(dir, `${c}.client.${c}.keyring`)]);
  step(['--cluster', c, 'mirror', 'pool', 'peer', 'add', 'image-pool', `client.${peer}@${peer}`]);
  step(['--cluster', c, 'auth', 'get-or-create', 'client.rbd-mirror.a', 'mon', 'profile rbd-mirror', 'osd', 'profile rbd',
    '-o', join(dir, `${c}.client.rbd-mirror.a.keyring`)]);
}
step(['--cluster', 'local', 'mirror', 'pool', 'info', 'image-pool']);
for (const c of ['local', 'remote']) startDaemon(c);
await waitFor('both daemons to start', async () => daemons.every((d) => existsSync(d.log) && readFileSync(d.log, 'utf8').includes('started')));

// Seed: ENABLE IMAGE JOURNALING SUPPORT (pool mode mirrors every journaled image).
step(['--cluster', 'local', 'create', IMAGE, '--size', '1G', '--image-feature', 'exclusive-lock,journaling']);
step(['--cluster', 'local', 'info', IMAGE]);
step(['--cluster', 'local', 'bench', '--io-type', 'write', '--io-size', '4K', '--io-pattern', 'rand', '--io-total', '16M', IMAGE]);
step(['--cluster', 'local', 'bench', '--io-type', 'write', '--io-size', '1M', '--io-pattern', 'seq', '--io-total', '64M', IMAGE]);
const local = md5Of('local');
if (!local) fail('cannot export the primary image');
process.stdout.write('# waiting for the remote daemon to bootstrap, sync and replay the image ...\n');
const t0 = Date.now();
await waitFor('the mirror to catch up', async () => md5Of('remote') === local);
process.stdout.write(`# caught up ${((Date.now() - t0) / 1000).toFixed(1)} s after the writes finished\n`);
for (const c of ['local', 'remote']) show(['--cluster', c, 'export', IMAGE, join(dir, `${c}-image-1.img`), '--no-progress']);
process.stdout.write(`${local}  ${IMAGE} (local, primary)\n`);
process.stdout.write(`${md5Of('remote')}  ${IMAGE} (remote, mirror)\n`);
process.stdout.write('demo: checksums match\n');

// Seed: MIRROR STATUS (replaying on remote, "local image is primary" on local).
await waitFor('status up+replaying', async () => /up\+replaying/.test(rbdmRun(['--cluster', 'remote', 'mirror', 'image', 'status', IMAGE]).stdout));
step(['--cluster', 'remote', 'mirror', 'image', 'status', IMAGE]);
step(['--cluster', 'local', 'mirror', 'pool', 'status', 'image-pool', '--verbose']);
step(['--cluster', 'remote', 'daemon', daemons[1].asok, 'status'], { quiet: true });

for (const d of daemons) {
  process.stdout.write(`$ kill -TERM ${d.child.pid}   # rbdm-mirror on ${d.cluster}\n`);
  d.child.kill('SIGTERM');
  const code = await d.exited;
  if (code !== 0) fail(`rbdm-mirror on ${d.cluster} exited with ${code}`);
}
if (keep) process.stdout.write(`# kept ${dir}\n`);
else rmSync(dir, { recursive: true, force: true });
