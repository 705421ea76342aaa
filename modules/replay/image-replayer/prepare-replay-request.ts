/**
 * Decides what the daemon does with one global id seen on either site (rbd-mirror's
 * `BootstrapRequest` prepare steps + journal `PrepareReplayRequest`): read both sites'
 * records, then the tag chains when the local image is a non-primary that is not simply
 * following the peer.
 *
 * @verbatim
 *  <start>
 *     |
 *     v
 *  READ_RECORDS (local and peer, by global id)
 *     |-- local primary, peer primary ---------------------------> split-brain
 *     |-- local primary -----------------------------------------> local-primary
 *     |-- peer record gone / disabling, local not primary -------> none (deletion is not ours)
 *     |-- local resync requested, peer primary ------------------> resync
 *     |-- no local image: peer primary --------------------------> bootstrap
 *     |                   peer not primary ----------------------> remote-not-primary
 *     v
 *  READ_TAGS (local journal's tags, the peer journal's tags and our client there)
 *     |-- following the peer (last local owner = peer):
 *     |      peer primary, or its demotion not replayed yet -----> bootstrap (resume replay)
 *     |      otherwise ------------------------------------------> remote-not-primary
 *     |-- peer not primary ---------------------------------------> remote-not-primary
 *     |-- chain links (demoted here, promoted there) ------------> bootstrap at the new epoch
 *     `-- anything else -----------------------------------------> split-brain
 * @endverbatim
 */
import type { Cluster } from '../../../host/index.js';
import type { MirrorImage } from '../../image-state/api.js';
import type { Tag } from '../../journaling/journals-service.js';
import type { ReplayDeps } from '../deps.js';
import { checkTagChain, ORPHAN_OWNER } from './tag-history.js';

export interface PrepareReplayInput {
  remote: Cluster;
  pool: string;
  globalId: string;
  localMirrorUuid: string;
  remoteMirrorUuid: string;
}

export type PrepareReplayResult =
  | { kind: 'none' }
  | { kind: 'local-primary' }
  | { kind: 'remote-not-primary' }
  | { kind: 'split-brain'; why: string }
  | { kind: 'resync'; local: MirrorImage; primary: MirrorImage }
  /** `epoch`: the peer's promotion epoch to follow from its start, without a full sync. */
  | { kind: 'bootstrap'; primary: MirrorImage; epoch?: Tag };

export class PrepareReplayRequest {
  /** The peer's enabled record, once read. */
  peer: MirrorImage | undefined;

  constructor(private readonly d: ReplayDeps, private readonly in_: PrepareReplayInput) {}

  async run(): Promise<PrepareReplayResult> {
    const { remote, pool, globalId } = this.in_;
    const enabled = (r: MirrorImage | undefined) => (r?.state === 'enabled' ? r : undefined);
    const local = enabled(await this.d.state.getByGlobalId(this.d.local, pool, globalId));
    const peer = enabled(await this.d.state.getByGlobalId(remote, pool, globalId));
    this.peer = peer;
    if (local?.primary) return peer?.primary ? { kind: 'split-brain', why: 'both images are primary' } : { kind: 'local-primary' };
    if (!peer) return { kind: 'none' };
    if (local?.resyncRequested && peer.primary) return { kind: 'resync', local, primary: peer };
    if (!local) return peer.primary ? { kind: 'bootstrap', primary: peer } : { kind: 'remote-not-primary' };
    return this.readTags(local, peer);
  }

  private async tags(cluster: Cluster, imageId: string): Promise<Tag[] | undefined> {
    const j = await this.d.journals.open(cluster, this.in_.pool, imageId).catch((e: { errno?: string }) => {
      if (e.errno === 'ENOENT') return undefined;
      throw e;
    });
    if (!j) return undefined;
    try {
      return (await j.metadata()).tags;
    } finally {
      await j.close();
    }
  }

  private async readTags(local: MirrorImage, peer: MirrorImage): Promise<PrepareReplayResult> {
    const { localMirrorUuid: uL, remoteMirrorUuid: uR } = this.in_;
    const localTags = (await this.tags(this.d.local, local.imageId)) ?? [];
    const remoteJ = await this.d.journals.open(this.in_.remote, this.in_.pool, peer.imageId);
    let remoteTags: Tag[];
    let ourPosition;
    try {
      const meta = await remoteJ.metadata();
      remoteTags = meta.tags;
      ourPosition = meta.clients.find((c) => c.id === uL)?.commitPosition ?? [];
    } finally {
      await remoteJ.close();
    }
    const verdict = checkTagChain(localTags, remoteTags, uL, uR);
    if (verdict.kind === 'split-brain') return peer.primary ? verdict : { kind: 'remote-not-primary' };
    if (verdict.kind === 'resume') return peer.primary ? { kind: 'bootstrap', primary: peer, epoch: verdict.epoch } : { kind: 'remote-not-primary' };
    if (peer.primary) return { kind: 'bootstrap', primary: peer };
    // Following a peer that was demoted: replay on until the demotion is consumed (the
    // replayer stops there and marks this journal <orphan>; also after a crash in between).
    const demoted = remoteTags[remoteTags.length - 1]?.data.mirrorUuid === ORPHAN_OWNER;
    return demoted && ourPosition.length > 0 ? { kind: 'bootstrap', primary: peer } : { kind: 'remote-not-primary' };
  }
}
