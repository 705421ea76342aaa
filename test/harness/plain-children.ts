/**
 * Loaded into every test process (`node-arg` in .taprc). tap starts each test with its
 * processinfo loader hook in NODE_OPTIONS, and wraps child_process so every program a test
 * starts gets the hook too: a loader thread that sees every module load. That doubled the
 * start of each `rbdm` command (0.4 s to 1.0 s) and slowed every daemon a test ran. With
 * coverage off (the default, .taprc) children run as users run them, without it; with
 * coverage on (`npm run coverage`) the hook stays, as it attributes the children's coverage.
 */
const SPAWN_HOOKS = Symbol.for('process-on-spawn@*:singletonId');

if (process.env.TAP_DISABLE_COVERAGE === '1') {
  const state = (globalThis as Record<symbol, { listeners?: unknown[] } | undefined>)[SPAWN_HOOKS];
  if (state?.listeners) state.listeners.length = 0;
  const kept = (process.env.NODE_OPTIONS ?? '').split(/\s+/).filter((o) => o && !o.includes('@tapjs/processinfo'));
  if (kept.length) process.env.NODE_OPTIONS = kept.join(' ');
  else delete process.env.NODE_OPTIONS;
}

export {};
