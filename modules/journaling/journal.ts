/**
 * One image's journal on one cluster: the header (image pool) and the data objects
 * (journal pool). Opened by the write stage on the local cluster and, through the
 * `journals` service, by the replayer on a peer's cluster.
 */
import { errno, type Cluster, type IoCtx, type WatchHandle } from '../../host/index.js';
import { JournalHeader, objectPrefix, type CreateJournalOptions } from './journal-header.js';
import type { JournalMetadata } from './types.js';
import { UpdateNotifier } from './update-notifier.js';

export class Journal {
  private notifier: UpdateNotifier | undefined;

  private constructor(
    readonly header: JournalHeader,
    /** Pool of the data objects (may be the header's own ioctx). */
    readonly dataIo: IoCtx,
    private readonly ownsHeaderIo: boolean,
  ) {}

  get imageId(): string {
    return this.header.imageId;
  }

  /** `journal_data.<data pool id>.<image id>.` */
  get objectPrefix(): string {
    return objectPrefix(this.dataIo.poolId, this.imageId);
  }

  objectOid(objectNumber: number): string {
    return `${this.objectPrefix}${objectNumber}`;
  }

  /**
   * Opens the journal of `imageId` whose header is in `pool`. With `io` the caller's ioctx
   * is used for the header (and not closed here).
   */
  static async open(cluster: Cluster, pool: string | IoCtx, imageId: string): Promise<Journal> {
    const io = typeof pool === 'string' ? await cluster.ioctx(pool) : pool;
    const own = typeof pool === 'string';
    try {
      const header = new JournalHeader(io, imageId);
      const poolIdRaw = (await io.omapGetValsByKeys(header.oid, ['pool_id']).catch((e: unknown) => {
        if ((e as { errno?: string }).errno === 'ENOENT') throw notFound(imageId);
        throw e;
      })).get('pool_id');
      if (!poolIdRaw) throw notFound(imageId);
      const dataIo = await dataIoctx(cluster, io, Number(poolIdRaw.toString()));
      return new Journal(header, dataIo, own);
    } catch (e) {
      if (own) await io.close();
      throw e;
    }
  }

  /** Creates the header (EEXIST if one exists); data objects appear with the first append. */
  static async create(cluster: Cluster, io: IoCtx, imageId: string, o: Omit<CreateJournalOptions, 'poolId'> & { dataPool?: string }): Promise<void> {
    let poolId = -1;
    if (o.dataPool !== undefined && o.dataPool !== '' && o.dataPool !== io.poolName) {
      poolId = (await cluster.lookupPool(o.dataPool).catch(() => {
        throw errno('ENOENT', 'ERR_POOL_NOT_FOUND', `journal pool '${o.dataPool}' does not exist`);
      })).id;
    }
    await new JournalHeader(io, imageId).create({ order: o.order, splayWidth: o.splayWidth, mirrorUuid: o.mirrorUuid, poolId });
  }

  read(): Promise<JournalMetadata> {
    return this.header.read();
  }

  /** Object numbers of sets [from, to], splay by splay. */
  static setObjects(set: number, splayWidth: number): number[] {
    return Array.from({ length: splayWidth }, (_, i) => set * splayWidth + i);
  }

  /** Reads whole data objects (missing ones are empty). */
  async readObjects(objectNumbers: number[]): Promise<Array<{ objectNumber: number; data: Buffer }>> {
    return Promise.all(objectNumbers.map(async (n) => {
      try {
        return { objectNumber: n, data: await this.dataIo.read(this.objectOid(n)) };
      } catch (e) {
        if ((e as { errno?: string }).errno === 'ENOENT') return { objectNumber: n, data: Buffer.alloc(0) };
        throw e;
      }
    }));
  }

  /** Removes data objects; ENOENT counts as done (as Ceph's trimmer). */
  async removeObjects(objectNumbers: number[]): Promise<void> {
    await Promise.all(objectNumbers.map((n) => this.dataIo.remove(this.objectOid(n)).catch((e: unknown) => {
      if ((e as { errno?: string }).errno !== 'ENOENT') throw e;
    })));
  }

  /** Removes every data object (found by prefix, so leftovers of any set go too), then the header. */
  async remove(): Promise<void> {
    const names: string[] = [];
    for await (const o of this.dataIo.listObjects({ prefix: this.objectPrefix })) names.push(o);
    await Promise.all(names.map((o) => this.dataIo.remove(o).catch((e: unknown) => {
      if ((e as { errno?: string }).errno !== 'ENOENT') throw e;
    })));
    await this.header.io.remove(this.header.oid).catch((e: unknown) => {
      if ((e as { errno?: string }).errno !== 'ENOENT') throw e;
    });
  }

  /** Watches the header: `onUpdate` runs on every metadata change (set advance, tags, clients). */
  watch(onUpdate: () => void, onError?: (e: Error) => void): Promise<WatchHandle> {
    return this.header.io.watch(this.header.oid, () => onUpdate(), onError);
  }

  /** Coalesced notifies to the header's watchers after appends and commits (see update-notifier.ts). */
  get updates(): UpdateNotifier {
    this.notifier ??= new UpdateNotifier(this.header.io, this.header.oid);
    return this.notifier;
  }

  async close(): Promise<void> {
    // The last appends' notify must go out before the ioctx does.
    await this.notifier?.flush();
    if (this.dataIo !== this.header.io) await this.dataIo.close();
    if (this.ownsHeaderIo) await this.header.io.close();
  }
}

async function dataIoctx(cluster: Cluster, io: IoCtx, poolId: number): Promise<IoCtx> {
  if (poolId === -1 || poolId === io.poolId) return io;
  const p = (await cluster.listPools()).find((x) => x.id === poolId);
  if (!p) throw errno('ENOENT', 'ERR_POOL_NOT_FOUND', `journal pool ${poolId} does not exist`);
  return cluster.ioctx(p.name);
}

export function notFound(imageId: string) {
  return errno('ENOENT', 'ERR_JOURNAL_NOT_FOUND', `journal of image ${imageId} does not exist`);
}
