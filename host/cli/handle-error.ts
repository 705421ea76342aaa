/**
 * The one place that turns an error into what the user sees: `rbdm: <message>` on stderr and
 * the errno number as exit code, as rbd does (2 ENOENT, 22 EINVAL, 30 EROFS, …).
 */
import { ERRNO, type HostError } from '../errors.js';

export function exitCodeOf(e: HostError): number {
  return ERRNO[e.errno] ?? 1;
}

export function printError(e: HostError, stderr: NodeJS.WritableStream = process.stderr): void {
  for (const line of e.message.split('\n')) stderr.write(`rbdm: ${line}\n`);
}
