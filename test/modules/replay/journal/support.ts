/**
 * Shared by the journal replay tests: the seed's two clusters (pool mode both ways, peers,
 * keyrings), a real `rbdm-mirror` on `remote`, md5 of exports, and journal export files
 * made from event lists (`rbdm journal import` then plays exact patterns on the primary).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RBDM_MIRROR_ARGV } from '../../../harness/cli.js';
import type { Two } from '../../pool-config/support.js';
import { encodeEntry } from '../../../../modules/journaling/entry-codec.js';
import { encodeEvent } from '../../../../modules/journaling/event-codec.js';
import { EXPORT_MAGIC } from '../../../../modules/journaling/export-import-commands.js';

// The seed's set-up, `ok` and `waitFor` are the multi-daemon tests' (one copy of them).
import { mirrored as seedSites, ok, POOL, waitFor } from '../daemon-support.js';

export { ok, POOL, waitFor };

/** The seed's set-up plus the key of the `rbd-mirror.a` daemon on `remote`. */
export async function mirrored(t: { teardown(fn: () => unknown): void }): Promise<Two> {
  const two = await seedSites(t);
  await ok(two.rbdm('remote', ['auth', 'get-or-create', 'client.rbd-mirror.a', 'mon', 'profile rbd-mirror', 'osd', 'profile rbd',
    '-o', join(two.c.dir, 'remote.client.rbd-mirror.a.keyring')]), 'daemon key');
  return two;
}

export interface Daemon {
  child: ChildProcess;
  exited: Promise<number | null>;
  log(): string;
  stop(): Promise<number | null>;
}

/** `rbdm-mirror -f --cluster remote --id rbd-mirror.a`, started and seen replaying the pool. */
export async function startDaemon(t: { teardown(fn: () => unknown): void }, two: Two, env: Record<string, string> = {}, tag = 'a'): Promise<Daemon> {
  const logFile = join(two.c.dir, `remote-mirror-${tag}.log`);
  const child = spawn(process.execPath, [...RBDM_MIRROR_ARGV, '-f', '--cluster', 'remote', '--id', 'rbd-mirror.a', `--log-file=${logFile}`,
    '--admin-socket', join(two.c.dir, `mirror-${tag}.asok`)], {
    env: { ...process.env, ...two.c.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  t.teardown(() => child.kill('SIGKILL'));
  const log = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  await waitFor('daemon start', async () => log().includes('replaying pool image-pool')).catch((e: Error) => {
    throw new Error(`${e.message}\n${log()}\n${stderr}`);
  });
  return { child, exited, log, stop: () => { child.kill('SIGTERM'); return exited; } };
}

let exports = 0;

/** md5 of `rbdm export` (a fresh file each time: export refuses an existing one); undefined if it fails. */
export async function md5(two: Two, cluster: 'local' | 'remote', image: string): Promise<string | undefined> {
  const file = join(two.c.dir, `${cluster}-export-${exports++}.img`);
  try {
    const r = await two.rbdm(cluster, ['export', image, file, '--no-progress']);
    if (r.code !== 0) return `export failed: ${r.stderr}`;
    return createHash('md5').update(readFileSync(file)).digest('hex');
  } finally {
    rmSync(file, { force: true });
  }
}

export type TestEvent =
  | { type: 'write'; offset: number; data: Uint8Array }
  | { type: 'discard' | 'write_zeroes'; offset: number; length: number }
  | { type: 'resize'; size: number; old_size: number }
  | { type: 'flush' };

/** A `journal export` file holding `events` in order (for `rbdm journal import`). */
export function exportFile(path: string, events: TestEvent[]): string {
  const frames = events.map((e, i) => {
    const now = Date.now();
    const head = e.type === 'write' ? { type: 'write', offset: e.offset, length: e.data.length, timestamp: now }
      : e.type === 'resize' ? { type: 'resize', size: e.size, old_size: e.old_size, timestamp: now }
      : e.type === 'flush' ? { type: 'flush', timestamp: now }
      : { type: e.type, offset: e.offset, length: e.length, timestamp: now };
    return encodeEntry(0, i, encodeEvent(head as never, e.type === 'write' ? e.data : undefined));
  });
  writeFileSync(path, Buffer.concat([Buffer.from(EXPORT_MAGIC), ...frames]));
  return path;
}
