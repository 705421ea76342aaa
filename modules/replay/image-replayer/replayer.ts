/**
 * What an image replayer needs of a mirroring mode (rbd-mirror's `image_replayer/Replayer.h`).
 * Journal mode is in `journal/`; snapshot mode would sit beside it.
 */
export interface Replayer {
  /** Starts replaying; resolves once the first batch is scheduled. */
  init(): Promise<void>;
  /** Stops, waits for the batch in flight, commits and closes. */
  shutDown(): Promise<void>;
  /** Applies everything available now and commits the position. */
  flush(): Promise<void>;
  /** rbd's status description (`replaying, {...}`). */
  getStatus(): string;
  isReplaying(): boolean;
  /** Set once replay failed; the replayer is stopped then. */
  readonly error: Error | undefined;
}
