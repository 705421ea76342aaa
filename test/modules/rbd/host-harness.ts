/**
 * The rbd commands as the CLI runs them, in-process: a real Host (module loader, ajv
 * validation with defaults, result validation) on an embedded cluster made by
 * `cluster create`, rendered by the CLI's own renderer.
 */
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { renderResult } from '../../../host/cli/render.js';
import type { CommandIO } from '../../../host/index.js';
import { Host } from '../../../host/runtime/host.js';

export interface RunOptions {
  format?: 'plain' | 'json';
  stdin?: Buffer;
  /** Pretend stderr is a terminal (progress shows). */
  tty?: boolean;
}

export interface RunOutput {
  result: unknown;
  /** What the CLI would print on stdout: streamed output, then the rendered result. */
  stdout: Buffer;
  stderr: string;
}

export interface HostCluster {
  dir: string;
  host: Host;
  run(prefix: string, args: Record<string, unknown>, opts?: RunOptions): Promise<RunOutput>;
}

function collector(): { stream: PassThrough; read(): Buffer } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (d: Buffer) => chunks.push(d));
  return { stream, read: () => Buffer.concat(chunks) };
}

async function newHost(dir: string): Promise<Host> {
  const host = new Host({ clusterName: 'local', entity: 'client.admin', env: { RBDM_CONF_DIR: dir }, validateResults: true });
  await host.init();
  await host.loadModules();
  return host;
}

/** @param conf extra `[client]` settings, e.g. `{ 'rbd default features': '125' }`. */
export async function hostCluster(t: { teardown(fn: () => unknown): void }, conf: Record<string, string> = {}): Promise<HostCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'rbdm-rbd-host-'));
  const creator = await newHost(dir);
  await creator.dispatch('cluster create', { data_dir: join(dir, 'data') }, { stdin: Readable.from([]), stdout: new PassThrough(), stderr: new PassThrough(), stderrIsTTY: false });
  await creator.shutdown();
  const entries = Object.entries(conf);
  if (entries.length) appendFileSync(join(dir, 'local.conf'), `[client]\n${entries.map(([k, v]) => `\t${k} = ${v}\n`).join('')}`);
  const host = await newHost(dir);
  t.teardown(async () => {
    await host.shutdown();
    rmSync(dir, { recursive: true, force: true });
  });
  const run = async (prefix: string, args: Record<string, unknown>, o: RunOptions = {}): Promise<RunOutput> => {
    const out = collector();
    const errs = collector();
    const io: CommandIO = {
      stdin: Readable.from(o.stdin ? [o.stdin] : []),
      stdout: out.stream,
      stderr: errs.stream,
      stderrIsTTY: o.tty ?? false,
    };
    const a = { ...args };
    const format = o.format ?? 'plain';
    const { result, cmd } = await host.dispatch(prefix, a, io, format);
    const text = renderResult(result, cmd.decl, a, format, false);
    await new Promise((r) => setImmediate(r));
    return { result, stdout: Buffer.concat([out.read(), Buffer.from(text)]), stderr: errs.read().toString() };
  };
  return { dir, host, run };
}
