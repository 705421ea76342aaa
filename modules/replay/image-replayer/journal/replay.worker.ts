/**
 * CPU-bound replay work for the host's piscina pool (STYLE 14): pure functions of plain
 * data returning `{ok, value} | {ok: false, code, message}`. The frame decode and CRC32C
 * checks run in the journaling module's worker (`journals.workerFile`, `decodeObjects`).
 */
import { planBatch, type PlannedOp, type RangedEvent } from './batch-plan.js';

export type WorkerResult<T> = { ok: true; value: T } | { ok: false; code: string; message: string };

/** Coalesces one batch of ranged events into non-overlapping operations (batch-plan.ts). */
export function planReplayBatch(task: { events: RangedEvent[] }): WorkerResult<PlannedOp[]> {
  try {
    return { ok: true, value: planBatch(task.events) };
  } catch (e) {
    return { ok: false, code: 'ERR_INVALID_ARGUMENT', message: (e as Error).message };
  }
}

/** The worker file's URL, for `pool.run(task, { filename: REPLAY_WORKER, name: 'planReplayBatch' })`. */
export const REPLAY_WORKER = new URL(import.meta.url).href;
