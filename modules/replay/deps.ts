/**
 * What the replay daemon uses of the host and of other modules, bound once in `serve()`:
 * one object instead of long parameter lists (STYLE 12).
 */
import type { Cluster, ConfView, Logger, WorkerPoolHandle } from '../../host/index.js';
import type { ImagesService } from '../rbd/api.js';
import type { JournalsService } from '../journaling/journals-service.js';
import type { ImageStateService } from '../image-state/api.js';
import type { PoolMirroringService } from '../pool-config/api.js';
import type { StatusService, StatusState } from '../status/api.js';

export interface ReplayDeps {
  images: ImagesService;
  journals: JournalsService;
  state: ImageStateService;
  mirroring: PoolMirroringService;
  records: StatusService;
  log: Logger;
  conf: ConfView;
  /** The host's piscina pool (journal decode and batch planning of replay). */
  pool: WorkerPoolHandle;
  /** The destination cluster (this daemon's own). */
  local: Cluster;
}

/** Where an image replayer reports its state (the pool replayer writes it as a status record). */
export type StatusSink = (state: StatusState, description: string) => void;
