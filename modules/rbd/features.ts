/**
 * Image features: Ceph's names and bits (`include/rbd/features.h`), the conf default, the
 * create-time rules (librbd `CreateRequest::validate_features`) and the enable/disable rules
 * (`EnableFeaturesRequest`, `DisableFeaturesRequest`), with their wording.
 */
import { err } from '../../host/index.js';

export const FEATURE_BITS = {
  layering: 1,
  striping: 2,
  'exclusive-lock': 4,
  'object-map': 8,
  'fast-diff': 16,
  'deep-flatten': 32,
  journaling: 64,
  'data-pool': 128,
  operations: 256,
  migrating: 512,
  'non-primary': 1024,
} as const;

export type FeatureName = keyof typeof FEATURE_BITS;

export const LAYERING = FEATURE_BITS.layering;
export const STRIPING = FEATURE_BITS.striping;
export const EXCLUSIVE_LOCK = FEATURE_BITS['exclusive-lock'];
export const OBJECT_MAP = FEATURE_BITS['object-map'];
export const FAST_DIFF = FEATURE_BITS['fast-diff'];
export const DEEP_FLATTEN = FEATURE_BITS['deep-flatten'];
export const JOURNALING = FEATURE_BITS.journaling;
export const DATA_POOL = FEATURE_BITS['data-pool'];
export const OPERATIONS = FEATURE_BITS.operations;
export const MIGRATING = FEATURE_BITS.migrating;
export const NON_PRIMARY = FEATURE_BITS['non-primary'];

/** `rbd_default_features` when the conf is silent: layering, exclusive-lock, object-map, fast-diff, deep-flatten. */
export const DEFAULT_FEATURES = 61;
export const ALL_FEATURES = Object.values(FEATURE_BITS).reduce((a, b) => a | b, 0);
/** Features `rbd feature enable/disable` may change. */
export const MUTABLE = EXCLUSIVE_LOCK | OBJECT_MAP | FAST_DIFF | JOURNALING;
export const DISABLE_ONLY = DEEP_FLATTEN;
/** Set by librbd itself, never by a user. */
export const INTERNAL = OPERATIONS | MIGRATING | NON_PRIMARY;

const NAMES = Object.keys(FEATURE_BITS) as FeatureName[];

/** Names of the bits set in `mask`, in bit order (rbd info's order). */
export function featureNames(mask: number): FeatureName[] {
  return NAMES.filter((n) => (mask & FEATURE_BITS[n]) !== 0);
}

/**
 * Parses feature names, each item possibly a comma list (`--image-feature a,b --image-feature c`).
 * @throws ERR_FEATURE naming the valid features.
 */
export function parseFeatureNames(items: readonly string[]): number {
  let mask = 0;
  for (const item of items) {
    for (const raw of item.split(',')) {
      const name = raw.trim();
      if (name === '') continue;
      const bit = (FEATURE_BITS as Record<string, number>)[name];
      if (bit === undefined) {
        throw err('ERR_FEATURE', `unknown image feature '${name}': valid features are ${NAMES.join(', ')}`);
      }
      mask |= bit;
    }
  }
  return mask;
}

/** `rbd default features`: a number or a comma list of names, as Ceph accepts. */
export function parseDefaultFeatures(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return DEFAULT_FEATURES;
  const v = value.trim();
  if (/^\d+$/.test(v)) {
    const n = Number(v);
    if ((n & ~ALL_FEATURES) !== 0) {
      throw err('ERR_FEATURE', `rbd_default_features ${v} has unknown feature bits`);
    }
    return n;
  }
  try {
    return parseFeatureNames([v]);
  } catch (e) {
    throw err('ERR_FEATURE', `invalid rbd_default_features '${v}': ${(e as Error).message}`);
  }
}

const EINVAL = '(22) Invalid argument';

/**
 * The features a new image gets: internal bits refused, implicit ones (striping, data-pool)
 * decided here, dependencies checked with librbd's wording.
 */
export function featuresForCreate(requested: number, hasDataPool: boolean): number {
  if ((requested & INTERNAL) !== 0) {
    throw err('ERR_FEATURE', `cannot use internally controlled features; create error: ${EINVAL}`);
  }
  // As librbd: striping with the default stripe layout is no striping at all.
  let f = requested & ~STRIPING;
  f = hasDataPool ? f | DATA_POOL : f & ~DATA_POOL;
  let why: string | undefined;
  if ((f & FAST_DIFF) !== 0 && (f & OBJECT_MAP) === 0) why = 'cannot use fast diff without object map';
  else if ((f & OBJECT_MAP) !== 0 && (f & EXCLUSIVE_LOCK) === 0) why = 'cannot use object map without exclusive lock';
  else if ((f & JOURNALING) !== 0 && (f & EXCLUSIVE_LOCK) === 0) why = 'cannot use journaling without exclusive lock';
  if (why) throw err('ERR_FEATURE', `${why}; create error: ${EINVAL}`);
  return f;
}

/** The result of checking a feature change against an image's current features. */
export interface FeatureChange {
  /** The bits that actually change (object-map and fast-diff travel together). */
  changed: number;
  enabled: boolean;
  oldFeatures: number;
  newFeatures: number;
}

function refuse(reason: string): never {
  throw err('ERR_FEATURE', `${reason}; failed to update image features: ${EINVAL}`);
}

/**
 * Checks `rbd feature enable|disable` of `mask` on an image whose features are `current`.
 * @throws ERR_FEATURE with the librbd reason followed by rbd's own line.
 */
export function planFeatureUpdate(current: number, mask: number, enabled: boolean): FeatureChange {
  const allowed = enabled ? MUTABLE : MUTABLE | DISABLE_ONLY;
  if (mask === 0) refuse('update requested no features');
  if ((mask & allowed) !== mask) {
    const bad = featureNames(mask & ~allowed).join(', ');
    const verb = enabled ? 'enabled' : 'disabled';
    refuse(`cannot update immutable features (${bad} cannot be ${verb}; mutable features are ${featureNames(allowed).join(', ')})`);
  }
  let features = mask;
  if (enabled) {
    if ((features & current) !== 0) refuse('one or more requested features are already enabled');
    // As librbd, object-map and fast-diff are enabled together unless one is already on.
    if ((features & (OBJECT_MAP | FAST_DIFF)) !== 0) features |= OBJECT_MAP | FAST_DIFF;
    features &= ~current;
    const next = current | features;
    if ((features & OBJECT_MAP) !== 0 && (next & EXCLUSIVE_LOCK) === 0) {
      refuse('cannot enable object-map. exclusive-lock must be enabled before enabling object-map.');
    }
    if ((features & JOURNALING) !== 0 && (next & EXCLUSIVE_LOCK) === 0) {
      refuse('cannot enable journaling. exclusive-lock must be enabled before enabling journaling.');
    }
    return { changed: features, enabled, oldFeatures: current, newFeatures: next };
  }
  if ((features & current) !== features) refuse('one or more requested features are already disabled');
  // fast-diff may go alone; object-map takes fast-diff with it.
  if ((features & OBJECT_MAP) !== 0) features |= current & FAST_DIFF;
  const next = current & ~features;
  if ((features & EXCLUSIVE_LOCK) !== 0 && (next & (OBJECT_MAP | JOURNALING)) !== 0) {
    refuse('cannot disable exclusive-lock. object-map or journaling must be disabled before disabling exclusive-lock.');
  }
  return { changed: features, enabled, oldFeatures: current, newFeatures: next };
}

export function hasFeature(features: number, bit: number): boolean {
  return (features & bit) !== 0;
}
