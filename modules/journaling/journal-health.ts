/**
 * RBD_MIRROR_JOURNAL_CLIENT_DISCONNECTED: which images have mirror peer clients that were
 * disconnected for falling too far behind. Fed by every trim of this process and by the
 * daemon's periodic scan; the module's whole health map is replaced on each change.
 */
import type { HealthCheck } from '../../host/index.js';
import { IMAGE_CLIENT_ID, type JournalMetadata } from './types.js';

export const HEALTH_CHECK = 'RBD_MIRROR_JOURNAL_CLIENT_DISCONNECTED';

export class JournalHealth {
  /** `pool/imageId` → detail lines. */
  private readonly byImage = new Map<string, string[]>();

  constructor(private readonly publish: (checks: Record<string, HealthCheck>) => void) {}

  update(pool: string, imageName: string, imageId: string, meta: JournalMetadata): void {
    const lines = meta.clients
      .filter((c) => c.id !== IMAGE_CLIENT_ID && c.state === 'disconnected')
      .map((c) => `image ${pool}/${imageName}: journal client ${c.id} (mirror peer) is disconnected: it fell behind; the peer must resync the image`);
    const key = `${pool}/${imageId}`;
    const before = this.byImage.get(key);
    if (lines.length) this.byImage.set(key, lines);
    else this.byImage.delete(key);
    if (JSON.stringify(before ?? []) !== JSON.stringify(lines)) this.emit();
  }

  forget(pool: string, imageId: string): void {
    if (this.byImage.delete(`${pool}/${imageId}`)) this.emit();
  }

  /** Replaces the whole view (the daemon's scan saw every journal). */
  replace(entries: Array<{ pool: string; imageName: string; imageId: string; meta: JournalMetadata }>): void {
    this.byImage.clear();
    for (const e of entries) this.update(e.pool, e.imageName, e.imageId, e.meta);
    this.emit();
  }

  checks(): Record<string, HealthCheck> {
    const detail = [...this.byImage.values()].flat();
    if (!detail.length) return {};
    return {
      [HEALTH_CHECK]: {
        severity: 'warning',
        summary: `${detail.length} journal client(s) disconnected from ${this.byImage.size} image journal(s)`,
        count: detail.length,
        detail,
      },
    };
  }

  private emit(): void {
    this.publish(this.checks());
  }
}
