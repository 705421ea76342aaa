/**
 * What the NBD server serves: a named byte range with the image's I/O calls. Backed by an
 * open image of the `rbd` module, so every write, trim and zeroing goes through the
 * image's one write path (exclusive lock, stages such as the primary check, journaling).
 */
import type { Image } from '../rbd/api.js';

export interface NbdExport {
  /** The name clients ask for (NBD_OPT_GO / NBD_OPT_EXPORT_NAME). */
  readonly name: string;
  /** Human text for NBD_INFO_DESCRIPTION and NBD_REP_SERVER, e.g. `pool/image`. */
  readonly description: string;
  /** Advertised as NBD_FLAG_READ_ONLY; writes then get EPERM without reaching the image. */
  readonly readOnly: boolean;
  /** Bytes; read at each negotiation, so a resize shows up for new connections. */
  size(): number;
  read(offset: number, length: number): Promise<Buffer>;
  write(offset: number, data: Uint8Array): Promise<void>;
  /** Afterwards the range reads as zeros (objects may be removed: holes). */
  discard(offset: number, length: number): Promise<void>;
  /** Zeros, possibly as holes. */
  writeZeroes(offset: number, length: number): Promise<void>;
  flush(): Promise<void>;
}

export function imageExport(img: Image, name: string, readOnly: boolean): NbdExport {
  return {
    name,
    description: `${img.pool}/${img.name}`,
    readOnly,
    size: () => img.info.size,
    read: (o, l) => img.read(o, l),
    write: (o, d) => img.write(o, d),
    discard: (o, l) => img.discard(o, l),
    writeZeroes: (o, l) => img.writeZeroes(o, l),
    // Nothing is ever written through a read-only export, so there is nothing to flush (and a
    // read-only handle's flush would refuse with EROFS).
    flush: readOnly ? () => Promise.resolve() : () => img.flush(),
  };
}
