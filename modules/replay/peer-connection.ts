/**
 * Whether this daemon can reach the peer of one pool, checked by itself: every `PROBE_MS` a
 * fresh connection to the peer reads the peer pool's mirroring (a fresh one, because an
 * embedded connection that is already open keeps working when the peer's conf, keyring or
 * data directory goes away, and a librados one just blocks when the mons are gone). The
 * first success starts the pool's replay (`up`), a failure stops it (`down`), and reconnects
 * follow with a backoff capped at `RECONNECT_MAX_MS`. Meanwhile `callout` holds rbd-mirror's
 * wording for the heartbeat (`unable to connect to remote cluster`, `unable to access remote
 * pool`), as its PoolReplayer raises service-daemon callouts.
 *
 * @verbatim
 *  <start>
 *     |
 *     v
 *  CONNECTING --probe ok, up() ok--> CONNECTED --probe ok--> (wait PROBE_MS) --+
 *     ^    |                          |    ^                                   |
 *     |    | probe or up() fails      |    +-----------------------------------+
 *     |    v                          | probe fails: down(callout)
 *     |  UNREACHABLE <----------------+
 *     |    |
 *     +----+ wait 0.5 s, 1 s, 2 s, 4 s, 4 s … (RECONNECT_MAX_MS)
 *
 *  stop(): any state -> STOPPED (the loop ends; the owner stops the replay)
 * @endverbatim
 */
import type { Cluster } from '../../host/index.js';
import type { MirrorPeer } from '../pool-config/api.js';
import type { ReplayDeps } from './deps.js';

export const PROBE_MS = 3_000;
const RECONNECT_FIRST_MS = 500;
export const RECONNECT_MAX_MS = 4_000;
/** A probe step that takes longer than this counts as a failure (a peer whose mons are down). */
const PROBE_TIMEOUT_MS = 10_000;

export const CALLOUT_CONNECT = 'unable to connect to remote cluster';
export const CALLOUT_POOL = 'unable to access remote pool';

export type PeerState = 'connecting' | 'connected' | 'unreachable' | 'stopped';

export interface PeerHooks {
  /** The peer answers: start replaying (throws if that fails; retried like a failed probe). */
  up(): Promise<void>;
  /** The peer went away: stop replaying and say so (`callout`). */
  down(callout: string, reason: string): Promise<void>;
}

class ProbeError extends Error {
  constructor(readonly callout: string, reason: unknown) {
    super(reason instanceof Error ? reason.message : String(reason));
  }
}

function timeout<T>(p: Promise<T>, what: string, onLate?: (v: T) => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let late = false;
  return Promise.race([
    p.finally(() => clearTimeout(timer)).then((v) => {
      if (late) onLate?.(v);
      return v;
    }),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        late = true;
        reject(new Error(`${what}: timed out after ${PROBE_TIMEOUT_MS} ms`));
      }, PROBE_TIMEOUT_MS);
    }),
  ]);
}

export class PeerConnection {
  state: PeerState = 'connecting';
  /** The heartbeat callout while not connected. */
  callout: string | undefined;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private failures = 0;
  /** Set by stop() while the loop may be awaiting (a field, not `state`, so no narrowing). */
  private stopped = false;

  constructor(private readonly d: ReplayDeps, readonly pool: string, readonly peer: MirrorPeer, private readonly hooks: PeerHooks) {}

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.state = 'stopped';
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.probe();
        if (this.state !== 'connected' && !this.stopped) {
          await this.hooks.up();
          if (!this.stopped) this.connected();
        }
      } catch (e) {
        if (this.stopped) break;
        await this.unreachable(e instanceof ProbeError ? e.callout : CALLOUT_CONNECT, (e as Error).message);
      }
      await this.sleep(this.state === 'connected' ? PROBE_MS : Math.min(RECONNECT_MAX_MS, RECONNECT_FIRST_MS * 2 ** (this.failures - 1)));
    }
  }

  /** A fresh connection, then the peer pool's mirroring record (the pool must exist there). */
  private async probe(): Promise<void> {
    let c: Cluster;
    try {
      c = await timeout(this.d.mirroring.connectPeer(this.peer), 'connecting', (late) => void late.shutdown().catch(() => undefined));
    } catch (e) {
      throw new ProbeError(CALLOUT_CONNECT, e);
    }
    try {
      await timeout(this.d.mirroring.getPoolMirroring(c, this.pool), `reading pool ${this.pool}`);
    } catch (e) {
      throw new ProbeError(CALLOUT_POOL, e);
    } finally {
      void c.shutdown().catch(() => undefined);
    }
  }

  private connected(): void {
    if (this.failures > 0) this.d.log.info(`pool ${this.pool}: peer ${this.peer.site_name} reachable again`);
    this.state = 'connected';
    this.callout = undefined;
    this.failures = 0;
  }

  private async unreachable(callout: string, reason: string): Promise<void> {
    const was = this.state;
    this.failures++;
    this.state = 'unreachable';
    this.callout = callout;
    if (was === 'unreachable') return;
    this.d.log.warn(`pool ${this.pool}: ${callout} ${this.peer.site_name} (${reason}); reconnecting`);
    await this.hooks.down(callout, reason).catch((e: unknown) => this.d.log.warn(`pool ${this.pool}: stopping replay: ${(e as Error).message}`));
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done(): void {
        clearTimeout(timer);
        self.wake = undefined;
        resolve();
      }
      this.wake = done;
    });
  }
}
