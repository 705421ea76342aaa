// A writer SIGKILLed in the middle of `rbdm bench`: the next client breaks its dead lock,
// and the image opens, reads and writes fine.
import t from 'tap';
import { spawn } from 'node:child_process';
import { RBDM, TestClusters } from '../../harness/cli.js';

t.test('SIGKILL during bench, then the image opens and reads fine', async (t) => {
  const c = new TestClusters('rbdm-k-');
  t.teardown(() => c.cleanup());
  await c.create('local');
  const rb = (...a: string[]) => c.rbdm(['--cluster', 'local', ...a]);
  t.equal((await rb('pool', 'create', 'p')).code, 0);
  t.equal((await rb('create', 'p/img', '--size', '256M', '--image-feature', 'exclusive-lock')).code, 0);

  const writer = spawn(process.execPath, [RBDM, '--cluster', 'local', 'bench', '--io-type', 'write', '--io-size', '64K',
    '--io-total', '64G', '--io-pattern', 'rand', 'p/img'], { env: { ...process.env, ...c.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  writer.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<string | null>((res) => writer.on('exit', (_code, sig) => res(sig)));
  // Wait until it is writing: the lock is held and a progress row has been printed.
  const end = Date.now() + 30_000;
  while (!/\n\s+1\s+\d+/.test(out) && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
  t.match(out, /SEC\s+OPS\s+OPS\/SEC\s+BYTES\/SEC/, 'bench was running');
  writer.kill('SIGKILL');
  t.equal(await exited, 'SIGKILL');

  const info = await rb('info', 'p/img');
  t.equal(info.code, 0, info.stderr);
  const read = await rb('bench', '--io-type', 'read', '--io-size', '64K', '--io-total', '16M', 'p/img');
  t.equal(read.code, 0, read.stderr);
  t.match(read.stdout, /elapsed: \d+\s+ops: 256 /);
  const write = await rb('bench', '--io-type', 'write', '--io-size', '4K', '--io-total', '1M', 'p/img');
  t.equal(write.code, 0, `the dead writer's lock was broken: ${write.stderr}`);
  const exp = await rb('export', 'p/img', '-');
  t.equal(exp.code, 0);
  t.equal(exp.stdoutBytes.length, 256 * 1024 * 1024, 'whole image exported');
});
