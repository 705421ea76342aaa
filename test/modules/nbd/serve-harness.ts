/**
 * Test cluster plus `rbdm nbd serve` as a real child process: started, waited for until its
 * `listening on ...` line, stopped with a signal.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';
import { embeddedBackend } from '../../../host/cluster/embedded/index.js';
import { RBDM, run, TestClusters, type RunOptions, type RunResult } from '../../harness/cli.js';
import type { Address } from './nbd-client.js';

export const FIXTURE_MODULES = fileURLToPath(new URL('../../fixtures/rbd/modules/', import.meta.url));

export interface Cluster {
  c: TestClusters;
  /** The cluster `nbd serve` runs against; `local` when absent. */
  name?: string;
  rbdm(args: string[], opts?: RunOptions): Promise<RunResult>;
  /** `rbdm ...`, failing the test setup unless it exits 0. */
  ok(args: string[], opts?: RunOptions): Promise<RunResult>;
}

export async function localCluster(t: { teardown(fn: () => unknown): void }): Promise<Cluster> {
  const c = new TestClusters('rbdm-nbd-');
  t.teardown(() => c.cleanup());
  const rbdm = (args: string[], opts: RunOptions = {}) =>
    run(RBDM, ['--cluster', 'local', ...args], { ...opts, env: { ...c.env, ...opts.env } });
  const ok = async (args: string[], opts: RunOptions = {}) => {
    const r = await rbdm(args, opts);
    if (r.code !== 0) throw new Error(`rbdm ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
    return r;
  };
  await ok(['cluster', 'create', '--data-dir', join(c.dir, 'local-data')]);
  return { c, rbdm, ok };
}

export interface Served {
  proc: ChildProcess;
  /** What the ready line said: `127.0.0.1:PORT` or `unix:PATH`. */
  address: string;
  addr: Address;
  /** `nbd://...` URI of an export. */
  uri(name: string): string;
  stdout(): string;
  stderr(): string;
  /** Sends the signal and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function serve(cl: Cluster, args: string[], t: { teardown(fn: () => unknown): void }, env: NodeJS.ProcessEnv = {}): Promise<Served> {
  const proc = spawn(process.execPath, [RBDM, '--cluster', cl.name ?? 'local', 'nbd', 'serve', ...args], {
    env: { ...process.env, ...cl.c.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    proc.on('exit', (code, signal) => r({ code, signal })));
  t.teardown(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nbd serve not ready in 30 s: ${err}`)), 30_000);
    proc.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /^listening on (.+)$/m.exec(err);
      if (!m) return;
      clearTimeout(timer);
      const address = m[1]!;
      const addr: Address = address.startsWith('unix:')
        ? { path: address.slice(5) }
        : { host: address.slice(0, address.lastIndexOf(':')), port: Number(address.slice(address.lastIndexOf(':') + 1)) };
      resolve({
        proc, address, addr,
        uri: (name) => ('path' in addr ? `nbd+unix:///${name}?socket=${addr.path}` : `nbd://${addr.host}:${addr.port}/${name}`),
        stdout: () => out,
        stderr: () => err,
        stop: async (signal = 'SIGTERM') => {
          if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
          return exited;
        },
      });
    });
    void exited.then((x) => {
      clearTimeout(timer);
      reject(new Error(`nbd serve exited (${x.code ?? x.signal}) before it was ready: ${err}`));
    });
  });
}

/**
 * Whether a client tool is installed. Missing: a failure under CI (the apt list installs
 * it), else the test is skipped with the reason.
 */
export function haveTool(t: Test, tool: string): boolean {
  const r = spawnSync(tool, ['--version'], { stdio: 'ignore' });
  if (r.error === undefined && r.status === 0) return true;
  const why = `${tool} is not installed (apt-get install qemu-utils libnbd-bin; see .ci/apt-packages.d/nbd.txt)`;
  if (process.env.CI) t.fail(why);
  else t.pass(why, { skip: why }); // reported as a skip with its reason
  return false;
}

/** Runs a tool, resolving with its exit code and output. */
export function tool(cmd: string, args: string[], timeoutMs = 120_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}

/** Data object names of an image (`<block_name_prefix>.<hex>`), read in-process from the store. */
export async function dataObjects(cl: Cluster, spec: string): Promise<string[]> {
  const info = JSON.parse((await cl.ok(['info', spec, '--format', 'json'])).stdout) as { block_name_prefix: string };
  const key = /key = (\S+)/.exec(readFileSync(join(cl.c.dir, 'local.client.admin.keyring'), 'utf8'))![1]!;
  const cluster = await embeddedBackend.connect({
    clusterName: 'local', conf: { global: { data_dir: join(cl.c.dir, 'local-data') } }, confPath: '', entity: 'client.admin', key,
  });
  try {
    const io = await cluster.ioctx(spec.split('/')[0]!);
    const out: string[] = [];
    for await (const o of io.listObjects({ prefix: `${info.block_name_prefix}.` })) out.push(o);
    return out.sort();
  } finally {
    await cluster.shutdown();
  }
}
