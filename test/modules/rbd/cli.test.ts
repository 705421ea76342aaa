// The image commands as a user types them: `rbdm --cluster local ...` in a child process,
// with rbd's grammar (positional specs, --image-feature lists, -p, -l, --no-progress),
// its outputs, and errno exit codes.
import t from 'tap';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, TestClusters, type RunOptions, type RunResult } from '../../harness/cli.js';

const CLI = fileURLToPath(new URL('../../fixtures/rbd/rbdm-cli.js', import.meta.url));
const WRITER = fileURLToPath(new URL('../../fixtures/rbd/image-writer.js', import.meta.url));
const MODULES = fileURLToPath(new URL('../../fixtures/rbd/modules/', import.meta.url));

async function localCluster(t: { teardown(fn: () => unknown): void }) {
  const c = new TestClusters('rbdm-rbd-cli-');
  t.teardown(() => c.cleanup());
  const rbdm = (args: string[], opts: RunOptions = {}): Promise<RunResult> =>
    run(CLI, ['--cluster', 'local', ...args], { ...opts, env: { ...c.env, ...opts.env } });
  const made = await rbdm(['cluster', 'create', '--data-dir', join(c.dir, 'local-data')]);
  if (made.code !== 0) throw new Error(`cluster create failed: ${made.stderr}`);
  return { c, rbdm };
}

/** The cluster's admin key, for the writer fixture. */
function adminKey(dir: string): string {
  return /key = (\S+)/.exec(readFileSync(join(dir, 'local.client.admin.keyring'), 'utf8'))![1]!;
}

t.test('the seed flow: create, info, ls -l, bench, export', async (t) => {
  const { c, rbdm } = await localCluster(t);
  t.equal((await rbdm(['pool', 'create', 'image-pool'])).code, 0);
  let r = await rbdm(['create', 'image-pool/image-1', '--size', '1G', '--image-feature', 'exclusive-lock,journaling']);
  t.same([r.code, r.stdout, r.stderr], [0, '', ''], 'rbd 041: silent');
  r = await rbdm(['info', 'image-pool/image-1']);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^rbd image 'image-1':\n\tsize 1 GiB in 256 objects\n\torder 22 \(4 MiB objects\)\n\tsnapshot_count: 0\n\tid: [0-9a-f]{12}\n/);
  t.match(r.stdout, /\tfeatures: exclusive-lock, journaling\n\top_features: \n\tflags: \n\tcreate_timestamp: /);
  r = await rbdm(['ls', '-l', 'image-pool']);
  t.equal(r.stdout, 'NAME     SIZE   PARENT  FMT  PROT  LOCK\nimage-1  1 GiB            2            \n', 'rbd 056');
  r = await rbdm(['ls', '-l', 'image-pool', '--format', 'json']);
  t.match(JSON.parse(r.stdout), [{ image: 'image-1', size: 1073741824, format: 2 }]);
  r = await rbdm(['bench', '--io-type', 'write', '--io-size', '4K', '--io-pattern', 'rand', '--io-total', '16M', 'image-pool/image-1']);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^bench  type write io_size 4096 io_threads 16 bytes 16777216 pattern random\n  SEC       OPS   OPS\/SEC   BYTES\/SEC\n(.*\n)*elapsed: \d+   ops: 4096   ops\/sec: [\d.]+   bytes\/sec: [\d.]+ [KMG]?i?B\/s\n$/, 'rbd 045');
  t.equal(r.stderr, '');
  // rbd 068's md5 comparison, on an image small enough for the harness to hold.
  await rbdm(['create', 'image-pool/small', '--size', '64M', '--image-feature', 'exclusive-lock']);
  r = await rbdm(['bench', '--io-type', 'write', '--io-size', '64K', '--io-pattern', 'rand', '--io-total', '8M', 'image-pool/small']);
  t.equal(r.code, 0, r.stderr);
  r = await rbdm(['export', 'image-pool/small', '-']);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdoutBytes.length, 64 << 20, 'the whole image on stdout');
  t.equal(r.stderr, '', 'no progress when stderr is not a terminal');
  t.ok(r.stdoutBytes.some((b) => b !== 0), 'with the benched data');
  const file = join(c.dir, 'small.img');
  t.equal((await rbdm(['export', 'image-pool/small', file])).code, 0);
  t.equal(createHash('md5').update(readFileSync(file)).digest('hex'), createHash('md5').update(r.stdoutBytes).digest('hex'),
    'file and stdout exports agree');
});

t.test('rbd 086-089: feature refusal on stderr with exit 22, then enable', async (t) => {
  const { rbdm } = await localCluster(t);
  await rbdm(['pool', 'create', 'image-pool']);
  let r = await rbdm(['create', 'image-pool/image-2', '--size', '64M', '--image-feature', 'layering']);
  t.equal(r.code, 0, r.stderr);
  r = await rbdm(['feature', 'enable', 'image-pool/image-2', 'journaling']);
  t.equal(r.code, 22);
  t.equal(r.stderr, 'rbdm: cannot enable journaling. exclusive-lock must be enabled before enabling journaling.; failed to update image features: (22) Invalid argument\n');
  t.equal(r.stdout, '');
  r = await rbdm(['feature', 'enable', 'image-pool/image-2', 'exclusive-lock']);
  t.same([r.code, r.stderr], [0, '']);
  r = await rbdm(['feature', 'enable', 'image-pool/image-2', 'journaling']);
  t.same([r.code, r.stderr], [0, '']);
  r = await rbdm(['info', '-p', 'image-pool', 'image-2', '--format', 'json']);
  t.same(JSON.parse(r.stdout).features, ['layering', 'exclusive-lock', 'journaling']);
  r = await rbdm(['feature', 'disable', 'image-pool/image-2', 'journaling', 'exclusive-lock']);
  t.equal(r.code, 0, r.stderr);
  r = await rbdm(['create', 'image-pool/image-3', '--size', '256M', '--image-feature', 'exclusive-lock', '--image-feature', 'journaling', '--object-size', '1M']);
  t.equal(r.code, 0, r.stderr);
  r = await rbdm(['info', 'image-pool/image-3']);
  t.match(r.stdout, '\tsize 256 MiB in 256 objects\n\torder 20 (1 MiB objects)\n');
  t.match(r.stdout, '\tfeatures: exclusive-lock, journaling\n', 'repeated --image-feature');
});

t.test('errors: rbd\'s wording, errno exit codes, nothing changed', async (t) => {
  const { rbdm } = await localCluster(t);
  await rbdm(['pool', 'create', 'image-pool']);
  let r = await rbdm(['info', 'image-pool/no-such-image']);
  t.same([r.code, r.stderr], [2, 'rbdm: error opening image no-such-image: (2) No such file or directory\n'], 'rbd 076');
  r = await rbdm(['ls', 'nopool']);
  t.same([r.code, r.stderr], [2, "rbdm: error opening pool 'nopool': (2) No such file or directory\n"]);
  r = await rbdm(['create', 'image-pool/x', '--size', '1.5G']);
  t.equal(r.code, 22);
  t.match(r.stderr, /the argument \('1\.5G'\) for option '--size' is invalid/);
  r = await rbdm(['create', 'image-pool/x']);
  t.equal(r.code, 22, 'no --size');
  r = await rbdm(['create', 'image-pool/x', '--size', '1M', '--image-feature', 'bogus']);
  t.equal(r.code, 22);
  t.match(r.stderr, /unknown image feature 'bogus'/);
  r = await rbdm(['ls', 'image-pool']);
  t.equal(r.stdout, '', 'none of the refusals created an image');
  r = await rbdm(['create', 'image-pool/x', '--size', '64M']);
  r = await rbdm(['create', 'image-pool/x', '--size', '64M']);
  t.same([r.code, r.stderr], [17, 'rbdm: rbd image x already exists; create error: (17) File exists\n']);
  r = await rbdm(['resize', 'image-pool/x', '--size', '32M']);
  t.same([r.code, r.stderr], [22, 'rbdm: shrinking an image is only allowed with the --allow-shrink flag\n']);
  r = await rbdm(['resize', 'image-pool/x', '--size', '32M', '--allow-shrink']);
  t.equal(r.code, 0, r.stderr);
  r = await rbdm(['bench', 'image-pool/x', '--io-type', 'sideways']);
  t.equal(r.code, 22);
});

t.test('progress: --progress forces it, --no-progress hides it', async (t) => {
  const { c, rbdm } = await localCluster(t);
  await rbdm(['pool', 'create', 'rbd']);
  const src = join(c.dir, 'src.img');
  writeFileSync(src, Buffer.alloc(8 << 20, 3));
  let r = await rbdm(['import', src, 'img', '--progress']);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stderr, '\rImporting image: 50% complete...\rImporting image: 100% complete...done.\n');
  r = await rbdm(['export', 'img', join(c.dir, 'out.img'), '--no-progress']);
  t.same([r.code, r.stderr], [0, '']);
  t.ok(readFileSync(join(c.dir, 'out.img')).equals(readFileSync(src)));
  r = await rbdm(['rm', 'img', '--progress']);
  t.equal(r.stderr, '\rRemoving image: 50% complete...\rRemoving image: 100% complete...done.\n');
  r = await rbdm(['import', '-', 'piped'], { input: Buffer.alloc(100, 1) });
  t.equal(r.code, 0, r.stderr);
  r = await rbdm(['info', 'piped', '--format', 'json']);
  t.equal(JSON.parse(r.stdout).size, 100);
});

t.test('export without a path writes IMAGE in the current directory', async (t) => {
  const { c, rbdm } = await localCluster(t);
  await rbdm(['pool', 'create', 'rbd']);
  await rbdm(['create', 'here', '--size', '1M']);
  const code = await new Promise<number | null>((resolve) => {
    const p = spawn(process.execPath, [CLI, '--cluster', 'local', 'export', 'here'], { cwd: c.dir, env: { ...process.env, ...c.env }, stdio: 'ignore' });
    p.on('exit', resolve);
  });
  t.equal(code, 0);
  t.same(readFileSync(join(c.dir, 'here')), Buffer.alloc(1 << 20));
});

t.test('rm while another process writes: EBUSY (16), then it goes', async (t) => {
  // The writer holds the lock 12 s: long enough for ls and rm to run first on a loaded machine,
  // short of the bench's 30 s lock wait.
  const { c, rbdm } = await localCluster(t);
  await rbdm(['pool', 'create', 'rbd']);
  await rbdm(['create', 'busy', '--size', '4M']);
  const writer = spawn(process.execPath, [WRITER, join(c.dir, 'local-data'), adminKey(c.dir), 'rbd', 'busy', '1000', 'once', '12000', 'W'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise((resolve) => writer.on('exit', resolve));
  await new Promise<void>((resolve) => writer.stdout.on('data', (d: Buffer) => { if (d.toString().includes('locked')) resolve(); }));
  let r = await rbdm(['ls', '-l']);
  t.match(r.stdout, /^busy +4 MiB +2 +excl$/m, 'ls -l shows the lock');
  r = await rbdm(['rm', 'busy']);
  t.equal(r.code, 16);
  t.match(r.stderr, /^rbdm: error: image still has watchers\. .*delete error: \(16\) Device or resource busy\n$/);
  r = await rbdm(['bench', 'busy', '--io-type', 'write', '--io-total', '4K']);
  t.equal(r.code, 0, `bench waits for the lock (rbd lock_wait_timeout 30 s): ${r.stderr}`);
  await exited;
  r = await rbdm(['rm', 'busy']);
  t.equal(r.code, 0, r.stderr);
  t.equal((await rbdm(['ls'])).stdout, '');
});

t.test('a module built on the images service: its stage refuses client writes (rbd 080), its section shows in info', async (t) => {
  const { rbdm } = await localCluster(t);
  const env = { RBDM_MODULE_PATH: MODULES };
  await rbdm(['pool', 'create', 'rbd']);
  await rbdm(['create', 'img', '--size', '16M', '--image-feature', 'exclusive-lock,journaling']);
  let r = await rbdm(['mgr', 'module', 'enable', 'primary-gate'], { env });
  t.equal(r.code, 0, r.stderr);
  r = await rbdm(['primary-gate', 'write', 'img', '0', 'hello'], { env });
  t.equal(r.code, 0, r.stderr);
  r = await rbdm(['info', 'img'], { env });
  t.match(r.stdout, /\tmodify_timestamp: .+\n\tjournal: \w+\n\tprimary: true\n\tmirroring state: disabled\n$/);
  r = await rbdm(['primary-gate', 'demote', 'img'], { env });
  t.equal(r.code, 0, r.stderr);
  r = await rbdm(['bench', '--io-type', 'write', '--io-size', '4K', '--io-total', '4K', 'img'], { env });
  t.same([r.code, r.stdout, r.stderr], [30, '', 'rbdm: image img is not primary; failed to flush: (30) Read-only file system\n'], 'rbd 080');
  r = await rbdm(['primary-gate', 'write', 'img', '0', 'x'], { env });
  t.equal(r.code, 30);
  r = await rbdm(['bench', '--io-type', 'read', '--io-total', '16K', 'img'], { env });
  t.equal(r.code, 0, 'reads still work');
  r = await rbdm(['primary-gate', 'write', 'img', '0', 'R', '--purpose', 'replay'], { env });
  t.equal(r.code, 0, `the replayer writes: ${r.stderr}`);
  r = await rbdm(['export', 'img', '-'], { env });
  t.equal(r.stdoutBytes.subarray(0, 5).toString(), 'Rello', 'only the replayed write landed after the demote');
  r = await rbdm(['info', 'img', '--format', 'json'], { env });
  t.equal(JSON.parse(r.stdout).primary, false);
  r = await rbdm(['mgr', 'module', 'disable', 'primary-gate'], { env });
  t.equal(r.code, 0, r.stderr);
  r = await rbdm(['info', 'img'], { env });
  t.notMatch(r.stdout, /primary:/, 'a disabled module adds nothing');
  r = await rbdm(['bench', '--io-type', 'write', '--io-total', '4K', 'img'], { env });
  t.equal(r.code, 0, 'and refuses nothing');
});
