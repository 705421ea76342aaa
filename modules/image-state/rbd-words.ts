/**
 * rbd 16.2's wording for `mirror image|pool` refusals (077–082, 085, 113, 140, 172, 198),
 * as one message: librbd's reason, then rbd's own line when it prints one. Exit codes are
 * rbd's errnos.
 */
import { ERRNO, STRERROR, errno, type ErrnoName, type HostError } from '../../host/index.js';

export const errnoText = (e: ErrnoName): string => `(${ERRNO[e]}) ${STRERROR[e]}`;

export const notEnabledOnImage = (): HostError => errno('EINVAL', 'ERR_MIRROR_IMAGE_NOT_ENABLED', 'mirroring not enabled on the image');
export const notEnabledOnPool = (): HostError => errno('EINVAL', 'ERR_MIRRORING_NOT_ENABLED', 'mirroring not enabled on the pool');
export const invalidModeName = (word: string): HostError => errno('EINVAL', 'ERR_MIRROR_IMAGE_MODE', `invalid mode name: ${word}`);
export const snapshotModeUnsupported = (): HostError =>
  errno('EINVAL', 'ERR_MIRROR_IMAGE_MODE', 'snapshot-based mirroring is not supported by rbdm: only journal mode (the default) is');
export const enableNotImageMode = (): HostError =>
  errno('EINVAL', 'ERR_MIRROR_POOL_MODE', 'cannot enable mirroring: pool is not in image mirror mode');
export const disableInPoolMode = (): HostError =>
  errno('EINVAL', 'ERR_MIRROR_POOL_MODE', 'cannot disable mirroring in the current pool mirroring mode');
export const beingDisabled = (): HostError =>
  errno('EINVAL', 'ERR_MIRROR_IMAGE_DISABLING', 'cannot enable mirroring: mirroring image is in disabling state; disable it again to finish');
export const disableNonPrimary = (): HostError =>
  errno('EINVAL', 'ERR_MIRROR_IMAGE_NOT_PRIMARY', 'mirrored image is not primary, add force option to disable mirroring');
export const alreadyPrimary = (): HostError =>
  errno('EINVAL', 'ERR_MIRROR_IMAGE_PRIMARY', 'image is already primary; error promoting image to primary');
export const notPropagated = (): HostError =>
  errno('EBUSY', 'ERR_MIRROR_DEMOTION_NOT_PROPAGATED', 'image is primary within a remote cluster or demotion is not propagated yet; error promoting image to primary');
export const notPrimary = (): HostError =>
  errno('EINVAL', 'ERR_MIRROR_IMAGE_NOT_PRIMARY', 'image is not primary; error demoting image to non-primary');
export const resyncPrimary = (): HostError =>
  errno('EINVAL', 'ERR_MIRROR_IMAGE_PRIMARY', 'image is primary, cannot resync to itself; error flagging image resync');
export const poolDisableImagesEnabled = (): HostError =>
  errno('EINVAL', 'ERR_MIRROR_IMAGES_ENABLED', 'failed to disable mirror mode: there are still images with mirroring enabled');
export const journalingInImageMode = (): HostError =>
  errno('EINVAL', 'ERR_MIRROR_IMAGE_ENABLED', 'cannot disable journaling: image mirroring enabled and mirror pool mode set to image; run `mirror image disable` first');

/** EROFS for anything that would change a non-primary image (080's errno). */
export function nonPrimaryReadOnly(pool: string, image: string, what: string, hint = 'promote it first: mirror image promote'): HostError {
  return errno('EROFS', 'ERR_IMAGE_READ_ONLY', `image ${pool}/${image} is a non-primary mirrored image: ${what} refused (${hint})`);
}

/** `failed to promote image image-1: (16) Device or resource busy` (172). */
export function perImageFailure(verb: 'promote' | 'demote', name: string, e: HostError): string {
  return `failed to ${verb} image ${name}: ${errnoText(e.errno)} (${e.message})`;
}
