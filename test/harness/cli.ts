/**
 * Runs the real `rbdm` / `rbdm-mirror` entry points as child processes, with their conf
 * directory pointed at a test's temp dir.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root, from dist/test/harness/cli.js. */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const RBDM = join(ROOT, 'bin', 'rbdm.js');
export const RBDM_MIRROR = join(ROOT, 'bin', 'rbdm-mirror.js');
/** A script's `#!/usr/bin/env -S [NAME=VALUE ...] node FLAGS` line: the words before and after `node`. */
function shebangWords(script: string): { before: string[]; after: string[] } {
  const first = readFileSync(script, 'utf8').split('\n', 1)[0] ?? '';
  const m = /^#!(.*?)\bnode\b(.*)$/.exec(first);
  const words = (s: string | undefined) => (s ?? '').trim().split(/\s+/).filter(Boolean);
  return { before: words(m?.[1]), after: words(m?.[2]) };
}
/** The node flags on a script's shebang line. */
export function nodeFlagsOf(script: string): string[] {
  return shebangWords(script).after;
}
/** The `NAME=VALUE` words before `node` on a script's `#!/usr/bin/env -S ...` line. */
export function envOf(script: string): Record<string, string> {
  const vars = shebangWords(script).before.filter((w) => /^[A-Z_]+=/.test(w));
  return Object.fromEntries(vars.map((w) => [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)]));
}
/** `process.execPath` arguments that start rbdm-mirror as its shebang would (with its node flags). */
export const RBDM_MIRROR_ARGV = [...nodeFlagsOf(RBDM_MIRROR), RBDM_MIRROR];
// And its environment (glibc malloc tuning): every rbdm-mirror a test or bench starts with
// RBDM_MIRROR_ARGV inherits this process's environment.
for (const [k, v] of Object.entries(envOf(RBDM_MIRROR))) process.env[k] ??= v;

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout as bytes, for binary output (export to `-`). */
  stdoutBytes: Buffer;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  input?: Buffer | string;
  timeoutMs?: number;
}

export function run(script: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], {
      env: { ...process.env, ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const errs: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => errs.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stdoutBytes = Buffer.concat(out);
      resolve({ code: code ?? (signal ? 128 : 1), stdout: stdoutBytes.toString('utf8'), stderr: Buffer.concat(errs).toString('utf8'), stdoutBytes });
    });
    child.stdin.on('error', () => undefined);
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}

/** A conf dir for one test, with `rbdm(...)` bound to it. */
export class TestClusters {
  readonly dir: string;
  readonly env: NodeJS.ProcessEnv;

  constructor(prefix = 'rbdm-t-') {
    this.dir = mkdtempSync(join(tmpdir(), prefix));
    this.env = { RBDM_CONF_DIR: this.dir, RBDM_VALIDATE_RESULTS: '1' };
  }

  rbdm(args: string[], opts: RunOptions = {}): Promise<RunResult> {
    return run(RBDM, args, { ...opts, env: { ...this.env, ...opts.env } });
  }

  /** `rbdm --cluster NAME cluster create --data-dir DIR/NAME-data`; throws on failure. */
  async create(name: string): Promise<void> {
    const r = await this.rbdm(['--cluster', name, 'cluster', 'create', '--data-dir', join(this.dir, `${name}-data`)]);
    if (r.code !== 0) throw new Error(`cluster create ${name} failed (${r.code}): ${r.stderr}`);
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
