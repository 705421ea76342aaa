/**
 * The module's options (Ceph's rbd_journal_* names without the `rbd_` prefix), read on use
 * so runtime changes apply to the next journal opened.
 */
import { Type, type ModuleContext, type OptionDecl } from '../../host/index.js';
import type { TrimPolicy } from './trimmer.js';

export const OPTIONS: Record<string, OptionDecl> = {
  journal_pool: { schema: Type.String({ default: '' }), desc: 'Pool for journal data objects of new journals (empty: the image\'s pool).', runtime: true },
  journal_order: { schema: Type.Integer({ default: 24, minimum: 12, maximum: 26 }), desc: 'log2 of the journal data object size (24 = 16 MiB).', runtime: true },
  journal_splay_width: { schema: Type.Integer({ default: 4, minimum: 1, maximum: 64 }), desc: 'Data objects written concurrently (an object set).', runtime: true },
  journal_max_payload_bytes: { schema: Type.Integer({ default: 16384, minimum: 512, maximum: 16777216 }), desc: 'Writes larger than this are split into several entries.', runtime: true },
  journal_commit_age: { schema: Type.Number({ default: 5, minimum: 0.01 }), desc: 'Seconds between commit-position updates (and trims) of a writer.', runtime: true },
  journal_max_concurrent_object_sets: { schema: Type.Integer({ default: 0, minimum: 0 }), desc: 'A peer client more object sets behind than this is disconnected (0: never).', runtime: true },
  journal_max_client_lag_bytes: { schema: Type.Integer({ default: 0, minimum: 0 }), desc: 'A peer client pinning more journal bytes than this is disconnected (0: never).', runtime: true },
  journal_allow_disable_with_peers: { schema: Type.Boolean({ default: false }), desc: 'Let `feature disable journaling` remove a journal that connected mirror peers still read (rbd has no --force).', runtime: true },
  journal_notify_updates: { schema: Type.Boolean({ default: true }), desc: 'Notify the journal header\'s watchers (mirror daemons) after appends and commits, at most one notify per 20 ms.', runtime: true },
  health_check_interval: { schema: Type.Number({ default: 30, minimum: 1 }), desc: 'Seconds between the daemon\'s scans for disconnected journal clients.', runtime: true },
};

export interface Settings {
  journalPool: string;
  order: number;
  splayWidth: number;
  maxPayloadBytes: number;
  commitAgeMs: number;
  trim: TrimPolicy;
  allowDisableWithPeers: boolean;
  notifyUpdates: boolean;
  healthIntervalMs: number;
}

export function readSettings(ctx: Pick<ModuleContext, 'options'>): Settings {
  const o = <T>(k: string): T => ctx.options.get<T>(k);
  return {
    journalPool: o<string>('journal_pool'),
    order: o<number>('journal_order'),
    splayWidth: o<number>('journal_splay_width'),
    maxPayloadBytes: o<number>('journal_max_payload_bytes'),
    commitAgeMs: o<number>('journal_commit_age') * 1000,
    trim: { maxConcurrentObjectSets: o<number>('journal_max_concurrent_object_sets'), maxClientLagBytes: o<number>('journal_max_client_lag_bytes') },
    allowDisableWithPeers: o<boolean>('journal_allow_disable_with_peers'),
    notifyUpdates: o<boolean>('journal_notify_updates'),
    healthIntervalMs: o<number>('health_check_interval') * 1000,
  };
}
