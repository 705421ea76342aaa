/**
 * Test hook (daemon only): `RBDM_MIRROR_CRASH_AT=<point>` makes `rbdm-mirror` SIGKILL itself
 * when it reaches that step, so the e2e tests can stop it inside the crash windows of
 * bootstrap, resync and deletion with real processes and no mocks. Unset, it does nothing.
 */
import { writeSync } from 'node:fs';

export type CrashPoint =
  /** BootstrapRequest: the replica exists, its mirror record does not yet. */
  | 'after-create-local-image'
  /** ResyncRequest: the replica's record is gone (disable --force), the image is not. */
  | 'resync-after-disable'
  /** ImageDeleter: the replica's record is gone, the image is not. */
  | 'deleter-after-disable'
  /** BootstrapRequest, failover whose epoch head was trimmed: record gone, image not. */
  | 'epoch-discard-after-disable';

export const CRASH_AT_ENV = 'RBDM_MIRROR_CRASH_AT';

export function crashPoint(point: CrashPoint): void {
  if (process.env[CRASH_AT_ENV] !== point) return;
  // Synchronous: the log file's stream would not be flushed before the kill.
  writeSync(2, `rbdm-mirror: ${CRASH_AT_ENV}=${point}: killing this process (test hook)\n`);
  process.kill(process.pid, 'SIGKILL');
}
