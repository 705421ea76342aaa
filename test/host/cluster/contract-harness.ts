/**
 * What the Store contract suite needs from a backend under test, and small helpers the
 * contract files share (pool-per-test, error matching, child processes, a seeded PRNG).
 */
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Test } from 'tap';
import type { Cluster, IoCtx } from '../../../host/cluster/store.js';

/** One backend's cluster, as the contract suite uses it. */
export interface StoreHarness {
  /** A connection as `client.admin`. */
  cluster: Cluster;
  /** The secret of `client.admin`. */
  adminKey: string;
  /** Another connection to the same cluster. */
  connect(entity: string, key: string): Promise<Cluster>;
  /**
   * Starts `test/fixtures/store/<fixture>.js` in a new `node` process connected to the same
   * cluster as `client.admin`; stdin/stdout are pipes (stdout is line-based).
   */
  spawnClient(fixture: string, args?: readonly string[]): ChildProcess;
  cleanup(): Promise<void>;
}

export type OpenHarness = () => Promise<StoreHarness>;

export interface PoolCtx {
  h: StoreHarness;
  pool: string;
  io: IoCtx;
}

let poolSeq = 0;

type PoolFn = (t: Test, ctx: PoolCtx) => Promise<void>;

/** A subtest with a fresh pool (deleted afterwards). */
export function poolTest(t: Test, h: () => StoreHarness, name: string, fn: PoolFn): void;
export function poolTest(t: Test, h: () => StoreHarness, name: string, opts: { timeout: number }, fn: PoolFn): void;
export function poolTest(t: Test, h: () => StoreHarness, name: string, a: PoolFn | { timeout: number }, b?: PoolFn): void {
  const fn = typeof a === 'function' ? a : b!;
  const opts = typeof a === 'function' ? {} : a;
  t.test(name, opts, async (t) => {
    const harness = h();
    const pool = `contract-${process.pid}-${++poolSeq}`;
    await harness.cluster.createPool(pool);
    const io = await harness.cluster.ioctx(pool);
    try {
      await fn(t, { h: harness, pool, io });
    } finally {
      await io.close();
      await harness.cluster.deletePool(pool);
    }
  });
}

/** Asserts a rejection with this errno (and this code, when given). */
export async function rejectsWith(t: Test, p: Promise<unknown>, errno: string, code?: string, msg?: string): Promise<void> {
  const label = `${msg ?? 'rejects'}: ${code ?? errno}`;
  try {
    await p;
    t.fail(`${label}, but it succeeded`);
  } catch (e) {
    t.match(e, code ? { errno, code } : { errno }, label);
  }
}

export const B = (s: string): Buffer => Buffer.from(s);

/** mulberry32: a tiny seeded PRNG, so a failing random sequence can be replayed. */
export function rng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n: number) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return Math.floor((((x ^ (x >>> 14)) >>> 0) / 4294967296) * n);
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Lines a child prints on stdout, with a way to wait for one. */
export class ChildLines {
  readonly lines: string[] = [];
  private waiters: Array<() => void> = [];
  stderr = '';

  constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (l) => {
      this.lines.push(l);
      for (const w of this.waiters.splice(0)) w();
    });
    child.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
  }

  /** Resolves with the first line (seen or to come) matching `re`. */
  async waitFor(re: RegExp, timeoutMs = 15_000): Promise<string> {
    return (await this.waitForCount(re, 1, timeoutMs))[0]!;
  }

  /** Resolves once `n` lines matching `re` have been printed. */
  async waitForCount(re: RegExp, n: number, timeoutMs = 15_000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hits = this.lines.filter((l) => re.test(l));
      if (hits.length >= n) return hits;
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(`child exited (${this.child.exitCode ?? this.child.signalCode}) before printing ${re}: ${this.stderr}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${re}; stderr: ${this.stderr}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}

/** Resolves when the child has exited. */
export function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}
