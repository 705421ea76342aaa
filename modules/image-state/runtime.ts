/**
 * The services this module builds on, resolved once per process from `init` (write stages
 * and hooks are process-wide, like rbd's registries; commands find them here too).
 */
import type { ModuleContext } from '../../host/index.js';
import type { ImagesService } from '../rbd/api.js';
import type { JournalsService } from '../journaling/journals-service.js';
import type { PoolMirroringService } from '../pool-config/api.js';
import type { Deps } from './deps.js';

let bound: Deps | undefined;

export function bind(ctx: ModuleContext): Deps {
  bound = {
    images: ctx.service<ImagesService>('rbd', 'images'),
    journals: ctx.service<JournalsService>('journaling', 'journals'),
    mirroring: ctx.service<PoolMirroringService>('pool-config', 'mirroring'),
    log: ctx.log,
    // Stages run inside other modules' commands: a warning for the user goes to stderr.
    warn: (line) => { process.stderr.write(`rbdm: ${line}\n`); },
  };
  return bound;
}

export function depsOf(ctx: ModuleContext): Deps {
  return bound ?? bind(ctx);
}

/** The services as bound by this process's host (for in-process users such as tests). */
export function boundDeps(): Deps {
  if (!bound) throw new Error('image-state is not initialised in this process');
  return bound;
}
