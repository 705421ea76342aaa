/**
 * The module's process-wide parts. The images service keeps one hook registry per process
 * (commands are static data), so the stage registered there is one per process too; the
 * context it reads options, logs and health through is the latest host's that initialised
 * this module (tests run several hosts in one process).
 */
import type { HealthCheck, ModuleContext } from '../../host/index.js';
import type { ImagesService } from '../rbd/api.js';
import { JournalHealth } from './journal-health.js';
import { JournalStage } from './journal-stage.js';
import { JournalsServiceImpl } from './journals-service.js';

class Runtime {
  private ctx: ModuleContext | undefined;
  private stageInstance: JournalStage | undefined;
  readonly health = new JournalHealth((checks: Record<string, HealthCheck>) => this.ctx?.health.set(checks));
  readonly service = new JournalsServiceImpl(() => this.stage);

  get stage(): JournalStage {
    if (!this.stageInstance) throw new Error('journaling module is not initialised');
    return this.stageInstance;
  }

  /** From `init`: wiring only, no I/O. */
  bind(ctx: ModuleContext): void {
    this.ctx = ctx;
    const stage = new JournalStage(ctx, this.health);
    this.stageInstance = stage;
    const images = ctx.service<ImagesService>('rbd', 'images');
    images.registerWriteStage(stage);
    images.registerLifecycleHook({
      name: 'journaling', order: 20,
      afterCreate: (ref) => stage.afterCreate(ref),
      beforeRemove: (ref) => stage.beforeRemove(ref),
    });
    images.registerInfoSection({
      name: 'journaling', order: 10,
      collect: async (img) => ((img.info.features & images.features.journaling!) !== 0 ? { journal: img.id } : undefined),
      render: (r) => (typeof r.journal === 'string' ? [`journal: ${r.journal}`] : []),
    });
  }
}

export const RUNTIME = new Runtime();
