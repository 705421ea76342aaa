/**
 * One mirrored global id on this daemon's cluster: decides from both sites' records and tag
 * chains what to do (prepare), then chains resync, bootstrap, full sync and the journal
 * replayer, keeps a state enum and reports status (rbd-mirror's `ImageReplayer`).
 *
 * @verbatim
 *  STOPPED -> STARTING (prepare) --local primary------------------> STOPPED  "local image is primary"
 *                 |            \---peer not primary---------------> STOPPED  (unknown) "remote image is non-primary"
 *                 |             \--both primary / chains diverge--> ERROR    "split-brain detected"
 *                 |              \-resync requested: remove the replica, then on as below
 *                 v
 *             bootstrap -> SYNCING (full sync, when needed) -> REPLAYING
 *                 *                        *                      |  \--peer demotion consumed: local <orphan>
 *                 * * * * * * * * * * * * ERROR * * * * * * * * * |     tag, lock released --> STOPPED (unknown)
 *                                                                  \---replica promoted under us --> STOPPED "force promoted"
 *  any -> STOPPING -> STOPPED (stop())
 * @endverbatim
 */
import type { Cluster } from '../../../host/index.js';
import type { ReplayDeps, StatusSink } from '../deps.js';
import type { StatusState } from '../../status/api.js';
import { BootstrapRequest, type PeerClientData } from './bootstrap-request.js';
import { FullSyncRequest } from './full-sync-request.js';
import { JournalReplayer } from './journal/replayer.js';
import { PrepareReplayRequest } from './prepare-replay-request.js';
import type { Replayer } from './replayer.js';
import { ResyncRequest } from './resync-request.js';
import { translateTag } from './tag-history.js';

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
  globalId: string;
  localMirrorUuid: string;
  remoteMirrorUuid: string;
  status: StatusSink;
}

/** rbd 16.2's status words (ImageReplayer / BootstrapRequest). */
export const LOCAL_PRIMARY = 'local image is primary';
export const REMOTE_NOT_PRIMARY = 'remote image is non-primary';
export const SPLIT_BRAIN = 'split-brain detected';
export const FORCE_PROMOTED = 'force promoted';
export const RESYNC_REQUESTED = 'resync requested';

export class ImageReplayer {
  state = ImageReplayerState.Stopped;
  /** When the replayer failed (the pool replayer restarts it later). */
  failedAt = 0;
  /** A failure the pool replayer must not retry on a timer (split-brain waits for an operator). */
  terminal = false;
  private replayer: Replayer | undefined;
  private abort = new AbortController();
  private starting: Promise<void> | undefined;
  private finishing: Promise<void> | undefined;
  private peerImageId = '';

  constructor(private readonly d: ReplayDeps, private readonly in_: ImageReplayerInput) {}

  get globalId(): string {
    return this.in_.globalId;
  }

  /** The peer's image id once read ('' before; admin socket: its name). */
  get remoteImageId(): string {
    return this.peerImageId;
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
    this.terminal = false;
    this.starting = this.run(this.abort.signal);
  }

  async stop(): Promise<void> {
    if (this.state === ImageReplayerState.Stopped && !this.finishing) return;
    this.state = ImageReplayerState.Stopping;
    this.abort.abort();
    await this.starting?.catch(() => undefined);
    await this.finishing?.catch(() => undefined);
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

  private settle(state: ImageReplayerState, status: StatusState, description: string): void {
    this.state = state;
    if (state === ImageReplayerState.Error) this.failedAt = Date.now();
    this.in_.status(status, description);
  }

  private async run(signal: AbortSignal): Promise<void> {
    const { remote, pool } = this.in_;
    try {
      this.state = ImageReplayerState.Starting;
      const prepare = new PrepareReplayRequest(this.d, this.in_);
      const prep = await prepare.run();
      this.peerImageId = prepare.peer?.imageId ?? this.peerImageId;
      signal.throwIfAborted();
      switch (prep.kind) {
        case 'none':
          this.state = ImageReplayerState.Stopped;
          return;
        case 'local-primary':
          return this.settle(ImageReplayerState.Stopped, 'stopped', LOCAL_PRIMARY);
        case 'remote-not-primary':
          return this.settle(ImageReplayerState.Stopped, 'unknown', REMOTE_NOT_PRIMARY);
        case 'split-brain':
          this.d.log.error(`image ${pool} global id ${this.globalId}: split-brain detected -- skipping image replay (${prep.why})`);
          this.terminal = true;
          return this.settle(ImageReplayerState.Error, 'error', SPLIT_BRAIN);
        case 'resync':
          this.in_.status('stopped', RESYNC_REQUESTED);
          await new ResyncRequest(this.d, { pool, local: prep.local, signal }).run();
          break;
        case 'bootstrap':
          break;
      }
      const primary = prep.primary;
      this.in_.status('starting_replay', 'starting replay');
      const boot = await new BootstrapRequest(this.d, { ...this.in_, primary, signal, ...(prep.kind === 'bootstrap' && prep.epoch ? { epoch: prep.epoch } : {}) }).run();
      if (boot.needsSync) {
        this.state = ImageReplayerState.Syncing;
        this.d.log.info(`image ${pool} global id ${this.globalId}: full sync from the peer`);
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
        localOwner: this.in_.remoteMirrorUuid,
        onChange: () => {
          if (replayer.error) {
            this.fail(replayer.error);
            void replayer.shutDown();
          } else if (replayer.stopReason && !this.finishing) {
            this.finishing = this.finishReplay(replayer, boot.localImageId).finally(() => {
              this.finishing = undefined;
            });
          } else if (this.state === ImageReplayerState.Replaying) {
            this.in_.status('replaying', replayer.getStatus());
          }
        },
      });
      this.replayer = replayer;
      await replayer.init();
      if (this.state === ImageReplayerState.Starting || this.state === ImageReplayerState.Syncing) {
        this.state = ImageReplayerState.Replaying;
        this.in_.status('replaying', replayer.getStatus());
      }
    } catch (e) {
      if (signal.aborted) return;
      await this.replayer?.shutDown().catch(() => undefined);
      this.replayer = undefined;
      this.fail(e);
    }
  }

  /**
   * Replay stopped by itself. A consumed demotion gets its local `<orphan>` tag (the peer's,
   * translated: its predecessor is the peer's last entry we applied), so `promote` here
   * succeeds without --force; then the replica's handle closes, releasing its lock.
   */
  private async finishReplay(replayer: JournalReplayer, localImageId: string): Promise<void> {
    try {
      const orphan = replayer.demotion;
      if (replayer.stopReason === 'demoted' && orphan) {
        const j = await this.d.journals.open(this.d.local, this.in_.pool, localImageId);
        try {
          const tags = (await j.metadata()).tags;
          if (tags[tags.length - 1]?.data.mirrorUuid !== orphan.data.mirrorUuid) {
            await j.allocateTag(translateTag(orphan.data, this.in_.localMirrorUuid, this.in_.remoteMirrorUuid));
          }
        } finally {
          await j.close();
        }
      }
      await replayer.shutDown();
      if (this.replayer === replayer) this.replayer = undefined;
      if (this.state === ImageReplayerState.Stopping) return;
      if (replayer.stopReason === 'demoted') this.settle(ImageReplayerState.Stopped, 'unknown', REMOTE_NOT_PRIMARY);
      else this.settle(ImageReplayerState.Stopped, 'stopped', FORCE_PROMOTED);
    } catch (e) {
      await replayer.shutDown().catch(() => undefined);
      this.fail(e);
    }
  }

  /** The current description, refreshed (rates) for the periodic status write. */
  describe(): string | undefined {
    return this.state === ImageReplayerState.Replaying ? this.replayer?.getStatus() : undefined;
  }
}
