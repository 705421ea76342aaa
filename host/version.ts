/** The package version, read once from package.json next to the build. */
import { readFileSync } from 'node:fs';

let cached: string | undefined;

export function readVersion(): string {
  if (cached) return cached;
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      cached = (JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { version: string }).version;
      return cached;
    } catch {
      // try the next layout (dist/host vs host)
    }
  }
  return '0.0.0';
}
