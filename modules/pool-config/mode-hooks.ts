/**
 * The mode hooks of this process (see `ModeHook` in api.ts). Module-level, like rbd's hook
 * registry: commands are static declarations and build their operations per call, so the
 * hooks other modules register from `init` must live outside any one service object.
 */
import type { ModeChange, ModeHook } from './api.js';

const byName = new Map<string, ModeHook>();
let sorted: ModeHook[] = [];

function resort(): void {
  sorted = [...byName.values()].sort((a, b) => a.order - b.order);
}

export function registerModeHook(hook: ModeHook): () => void {
  byName.set(hook.name, hook);
  resort();
  return () => {
    if (byName.get(hook.name) === hook) {
      byName.delete(hook.name);
      resort();
    }
  };
}

/** Ascending order; the first throw stops the change. */
export async function runBeforeModeChange(change: ModeChange): Promise<void> {
  for (const h of sorted) await h.beforeModeChange?.(change);
}

/** Ascending order; the mode is already written, so every hook runs and the first error is rethrown. */
export async function runAfterModeChange(change: ModeChange): Promise<void> {
  let first: unknown;
  for (const h of sorted) {
    try {
      await h.afterModeChange?.(change);
    } catch (e) {
      first ??= e;
    }
  }
  if (first !== undefined) throw first;
}
