/**
 * rbdm-mirror's node flags live on its shebang line (bin/rbdm-mirror.js): the packaged wrapper
 * passes the same ones, the file runs as an executable, and the flags do what they are for
 * (a young generation that stays small while a process churns short-lived objects).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { envOf, nodeFlagsOf, RBDM_MIRROR, ROOT } from '../harness/cli.js';

const flags = nodeFlagsOf(RBDM_MIRROR);
const env = envOf(RBDM_MIRROR);

t.test('the packaged wrapper runs the daemon with the shebang\'s flags', async (t) => {
  t.ok(flags.length > 0, `bin/rbdm-mirror.js names node flags: ${flags.join(' ')}`);
  const wrapper = readFileSync(join(ROOT, 'packaging/etc/rbdm-mirror.sh'), 'utf8');
  const m = /^exec \/usr\/bin\/node (.*) \/usr\/lib\/rbdm\/bin\/rbdm-mirror\.js "\$@"$/m.exec(wrapper);
  t.ok(m, 'the wrapper execs node on the packaged script');
  t.same(m?.[1]?.split(/\s+/), flags, 'with the same flags');
  t.same(Object.keys(env), ['GLIBC_TUNABLES'], 'the shebang sets glibc\'s malloc tunables');
  const exported = Object.fromEntries([...wrapper.matchAll(/^export ([A-Z_]+)=(\S+)$/gm)].map((e) => [e[1]!, e[2]!]));
  t.same(exported, env, 'the wrapper exports the same environment');
});

t.test('run as an executable, node gets the shebang\'s environment', async (t) => {
  // strace (installed by CI for the WAL test) shows the environment node is executed with.
  const r = spawnSync('strace', ['-f', '-v', '-s', '1024', '-e', 'trace=execve', RBDM_MIRROR, '--version'], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr.slice(-2000));
  const nodeExec = r.stderr.split('\n').find((l) => /execve\("[^"]*\/node", \["node", "--max-semi-space-size/.test(l));
  t.ok(nodeExec, 'env executed node with the flags');
  t.match(nodeExec, `"GLIBC_TUNABLES=${env.GLIBC_TUNABLES}"`, 'and with GLIBC_TUNABLES');
});

t.test('bin/rbdm-mirror.js runs as an executable (env -S)', async (t) => {
  const r = spawnSync(RBDM_MIRROR, ['--version'], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /\d+\.\d+\.\d+/, 'prints its version');
});

t.test('with the flags, new space stays small under churn; without, it grows', async (t) => {
  const churn = `
    const v8 = require('node:v8');
    let keep = [];
    for (let i = 0; i < 3000; i++) {
      keep.push(Array.from({ length: 2000 }, (_, j) => ({ i, j, s: 'x' + j })));
      if (keep.length > 20) keep.shift();
    }
    console.log(v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size);`;
  const newSpace = (args: string[]) => Number(spawnSync(process.execPath, [...args, '-e', churn], { encoding: 'utf8' }).stdout.trim());
  const plain = newSpace([]);
  const tuned = newSpace(flags);
  t.ok(plain > 8 * 1024 * 1024, `without: ${plain >> 20} MiB`);
  t.ok(tuned <= 4 * 1024 * 1024, `with ${flags.join(' ')}: ${tuned >> 20} MiB`);
});
