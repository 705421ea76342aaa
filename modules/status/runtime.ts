/**
 * The services this module builds on, resolved on first use (after every dependency has
 * built its services) and kept per process; commands and in-process users such as tests
 * find the `records` service here too.
 */
import type { ModuleContext } from '../../host/index.js';
import type { ImageStateService } from '../image-state/api.js';
import type { ImagesService } from '../rbd/api.js';
import type { PoolMirroringService } from '../pool-config/api.js';
import type { StatusService } from './api.js';
import { statusService, type Deps } from './service.js';

let deps: Deps | undefined;
let service: StatusService | undefined;

export function bind(ctx: ModuleContext): Deps {
  deps = {
    images: ctx.service<ImagesService>('rbd', 'images'),
    state: ctx.service<ImageStateService>('image-state', 'state'),
    mirroring: ctx.service<PoolMirroringService>('pool-config', 'mirroring'),
    log: ctx.log,
  };
  return deps;
}

export const depsOf = (ctx: ModuleContext): Deps => deps ?? bind(ctx);

export function serviceOf(ctx: ModuleContext): StatusService {
  service ??= statusService(() => depsOf(ctx));
  return service;
}

/** The service as bound by this process's host (tests drive the writers through it). */
export function boundService(): StatusService {
  if (!service || !deps) throw new Error('status is not initialised in this process');
  return service;
}
