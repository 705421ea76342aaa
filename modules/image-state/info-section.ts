/**
 * rbd's mirroring lines in `info` (042, 093, 114, 118, 204): with a record, state, mode,
 * global id and primary; a journaled image without one shows `mirroring state: disabled`;
 * other images nothing. JSON: `mirroring: {mode, state, global_id, primary}` (rbd's keys).
 */
import type { Image, InfoSection } from '../rbd/api.js';
import { hasJournaling, type Deps } from './deps.js';
import { readRecord } from './record-store.js';

interface MirroringJson {
  state: string;
  mode?: string;
  global_id?: string;
  primary?: boolean;
}

export function infoSection(d: Deps): InfoSection {
  return {
    name: 'image-state',
    order: 20,
    collect: async (img: Image) => {
      const rec = await readRecord(img.ioctx, img.id);
      if (rec && rec.state !== 'disabled') {
        const m: MirroringJson = { mode: rec.mode, state: rec.state, global_id: rec.globalId, primary: rec.primary };
        return { mirroring: m };
      }
      return hasJournaling(d, img.info.features) ? { mirroring: { state: 'disabled' } satisfies MirroringJson } : undefined;
    },
    render: (r) => {
      const m = r.mirroring as MirroringJson | undefined;
      if (!m || typeof m !== 'object') return [];
      const lines = [`mirroring state: ${m.state}`];
      if (m.mode !== undefined) lines.push(`mirroring mode: ${m.mode}`);
      if (m.global_id !== undefined) lines.push(`mirroring global id: ${m.global_id}`);
      if (m.primary !== undefined) lines.push(`mirroring primary: ${m.primary}`);
      return lines;
    },
  };
}
