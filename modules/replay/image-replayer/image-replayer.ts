/**
 * One mirrored image on the destination: chains bootstrap, full sync and the journal
 * replayer, keeps a state enum and reports status (rbd-mirror's `ImageReplayer`).
 *
 * @verbatim
 *  STOPPED -> STARTING (bootstrap) -> SYNCING (full sync, when needed) -> REPLAYING
 *                 *                        *                                *
 *                 * * * * * * * * * * * * ERROR * * * * * * * * * * * * * *
 *  any -> STOPPING -> STOPPED (stop())
 * @endverbatim
 */
import type { Cluster } from '../../../host/index.js';
import type { MirrorImage } from '../../image-state/api.js';
import type { ReplayDeps, StatusSink } from '../deps.js';
import { BootstrapRequest, type PeerClientData } from './bootstrap-request.js';
import { FullSyncRequest } from './full-sync-request.js';
import { JournalReplayer } from './journal/replayer.js';
import type { Replayer } from './replayer.js';

export enum ImageReplayerState {
  Stopped = 'stopped',
  Starting = 'starting',
  Syncing = 'syncing',
  Replaying = 'replaying',
  Stopping = 'stopping',
  Error = 'error',
}

export interface ImageReplayerInput {
  remote: Cluster;
  pool: string;
  primary: MirrorImage;
  localMirrorUuid: string;
  remoteMirrorUuid: string;
  status: StatusSink;
}

export class ImageReplayer {
  state = ImageReplayerState.Stopped;
  /** When the replayer failed (the pool replayer restarts it later). */
  failedAt = 0;
  private replayer: Replayer | undefined;
  private abort = new AbortController();
  private starting: Promise<void> | undefined;

  constructor(private readonly d: ReplayDeps, private readonly in_: ImageReplayerInput) {}

  get globalId(): string {
    return this.in_.primary.globalId;
  }

  /** The primary's image id on the peer (admin socket: its name). */
  get remoteImageId(): string {
    return this.in_.primary.imageId;
  }

  /**
   * Admin socket `rbd mirror flush`: applies and commits on the primary what its journal held
   * when called. Only a replaying image has anything to flush (rbd-mirror's rule).
   */
  async flush(): Promise<void> {
    if (this.state !== ImageReplayerState.Replaying || !this.replayer) return;
    await this.replayer.flush();
    if (this.replayer?.error) throw this.replayer.error;
  }

  start(): void {
    if (this.state !== ImageReplayerState.Stopped && this.state !== ImageReplayerState.Error) return;
    this.abort = new AbortController();
    this.starting = this.run(this.abort.signal);
  }

  async stop(): Promise<void> {
    if (this.state === ImageReplayerState.Stopped) return;
    this.state = ImageReplayerState.Stopping;
    this.abort.abort();
    await this.starting?.catch(() => undefined);
    await this.replayer?.shutDown();
    this.replayer = undefined;
    this.state = ImageReplayerState.Stopped;
  }

  private fail(e: unknown): void {
    const msg = e instanceof Error ? e.message : String(e);
    this.state = ImageReplayerState.Error;
    this.failedAt = Date.now();
    this.d.log.error(`image ${this.in_.pool} global id ${this.globalId}: ${msg}`);
    this.in_.status('error', msg);
  }

  private async run(signal: AbortSignal): Promise<void> {
    const { remote, pool, primary } = this.in_;
    try {
      this.state = ImageReplayerState.Starting;
      this.in_.status('starting_replay', 'starting replay');
      const boot = await new BootstrapRequest(this.d, { ...this.in_, signal }).run();
      if (boot.needsSync) {
        this.state = ImageReplayerState.Syncing;
        this.in_.status('syncing', 'bootstrapping, IMAGE_COPY/COPY_OBJECT 0%');
        await new FullSyncRequest(this.d, {
          remote, pool, remoteImageId: primary.imageId, localImageId: boot.localImageId, clientId: this.in_.localMirrorUuid, signal,
          onProgress: (done, total) => this.in_.status('syncing', `bootstrapping, IMAGE_COPY/COPY_OBJECT ${Math.floor((100 * done) / total)}%`),
        }).run();
        const j = await this.d.journals.open(remote, pool, primary.imageId);
        try {
          const data: PeerClientData = { state: 'replaying', image_id: boot.localImageId };
          await j.updateClientData(this.in_.localMirrorUuid, { ...data });
        } finally {
          await j.close();
        }
      }
      signal.throwIfAborted();
      const replayer = new JournalReplayer(this.d, {
        remote, pool, remoteImageId: primary.imageId, localImageId: boot.localImageId, clientId: this.in_.localMirrorUuid,
        onChange: () => {
          if (replayer.error) {
            this.fail(replayer.error);
            void replayer.shutDown();
          } else if (this.state === ImageReplayerState.Replaying) {
            this.in_.status('replaying', replayer.getStatus());
          }
        },
      });
      this.replayer = replayer;
      await replayer.init();
      this.state = ImageReplayerState.Replaying;
      this.in_.status('replaying', replayer.getStatus());
    } catch (e) {
      if (signal.aborted) return;
      await this.replayer?.shutDown().catch(() => undefined);
      this.replayer = undefined;
      this.fail(e);
    }
  }

  /** The current description, refreshed (rates) for the periodic status write. */
  describe(): string | undefined {
    return this.state === ImageReplayerState.Replaying ? this.replayer?.getStatus() : undefined;
  }
}
