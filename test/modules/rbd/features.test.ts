// Feature names, bits, conf defaults and the create/enable/disable rules, with librbd's wording.
import t from 'tap';
import type { HostError } from '../../../host/index.js';
import {
  DEFAULT_FEATURES, FEATURE_BITS, featureNames, featuresForCreate, parseDefaultFeatures, parseFeatureNames, planFeatureUpdate,
} from '../../../modules/rbd/features.js';

const bits = (names: string) => parseFeatureNames([names]);

t.test('names and bits are Ceph\'s', async (t) => {
  t.same(FEATURE_BITS, {
    layering: 1, striping: 2, 'exclusive-lock': 4, 'object-map': 8, 'fast-diff': 16, 'deep-flatten': 32,
    journaling: 64, 'data-pool': 128, operations: 256, migrating: 512, 'non-primary': 1024,
  });
  t.equal(DEFAULT_FEATURES, 61);
  t.same(featureNames(61), ['layering', 'exclusive-lock', 'object-map', 'fast-diff', 'deep-flatten']);
  t.same(featureNames(4 | 64 | 128), ['exclusive-lock', 'journaling', 'data-pool'], 'bit order, as rbd info');
  t.equal(parseFeatureNames(['exclusive-lock,journaling', 'layering']), 4 | 64 | 1, 'comma lists and repeats');
});

t.test('unknown names are EINVAL listing the valid ones', async (t) => {
  const e = t.throws(() => parseFeatureNames(['exclusive-lock,bogus'])) as unknown as HostError;
  t.equal(e.errno, 'EINVAL');
  t.equal(e.code, 'ERR_FEATURE');
  t.match(e.message, "unknown image feature 'bogus': valid features are layering, striping, exclusive-lock");
});

t.test('rbd default features: number or list', async (t) => {
  t.equal(parseDefaultFeatures(undefined), 61);
  t.equal(parseDefaultFeatures(''), 61);
  t.equal(parseDefaultFeatures('125'), 125);
  t.equal(parseDefaultFeatures('layering, exclusive-lock'), 5);
  t.throws(() => parseDefaultFeatures('4096'), /unknown feature bits/);
  t.throws(() => parseDefaultFeatures('layering,nope'), /invalid rbd_default_features 'layering,nope'/);
});

t.test('create: dependencies and implicit features', async (t) => {
  t.equal(featuresForCreate(61, false), 61);
  t.equal(featuresForCreate(4 | 64, true), 4 | 64 | 128, 'data-pool is set by a data pool');
  t.equal(featuresForCreate(4 | 128, false), 4, 'and only by one');
  t.equal(featuresForCreate(1 | 2, false), 1, 'striping with the default layout is no striping');
  t.throws(() => featuresForCreate(bits('journaling'), false),
    { message: 'cannot use journaling without exclusive lock; create error: (22) Invalid argument' });
  t.throws(() => featuresForCreate(bits('object-map,fast-diff'), false), /cannot use object map without exclusive lock/);
  t.throws(() => featuresForCreate(bits('exclusive-lock,fast-diff'), false), /cannot use fast diff without object map/);
  t.throws(() => featuresForCreate(bits('exclusive-lock,non-primary'), false), /cannot use internally controlled features/);
});

t.test('enable: rbd 087 wording, interlocks, already enabled', async (t) => {
  const e = t.throws(() => planFeatureUpdate(bits('layering'), bits('journaling'), true)) as unknown as HostError;
  t.equal(e.message,
    'cannot enable journaling. exclusive-lock must be enabled before enabling journaling.; ' +
    'failed to update image features: (22) Invalid argument');
  t.equal(e.errno, 'EINVAL');
  t.same(planFeatureUpdate(bits('layering'), bits('exclusive-lock'), true),
    { changed: 4, enabled: true, oldFeatures: 1, newFeatures: 5 });
  t.same(planFeatureUpdate(bits('layering'), bits('exclusive-lock,journaling'), true).newFeatures, 1 | 4 | 64,
    'exclusive-lock and journaling together');
  t.equal(planFeatureUpdate(bits('exclusive-lock'), bits('object-map'), true).changed, 8 | 16, 'object-map brings fast-diff');
  t.equal(planFeatureUpdate(bits('exclusive-lock'), bits('fast-diff'), true).changed, 8 | 16, 'fast-diff brings object-map');
  t.equal(planFeatureUpdate(bits('exclusive-lock,object-map'), bits('fast-diff'), true).changed, 16);
  t.throws(() => planFeatureUpdate(bits('layering'), bits('object-map'), true),
    /cannot enable object-map\. exclusive-lock must be enabled before enabling object-map\./);
  t.throws(() => planFeatureUpdate(bits('exclusive-lock,journaling'), bits('journaling'), true),
    /one or more requested features are already enabled/);
  t.throws(() => planFeatureUpdate(1, bits('layering'), true), /cannot update immutable features \(layering cannot be enabled/);
  t.throws(() => planFeatureUpdate(1, bits('deep-flatten'), true), /cannot update immutable features/, 'deep-flatten is disable-only');
  t.throws(() => planFeatureUpdate(1, 0, true), /update requested no features/);
});

t.test('disable: dependencies, disable-only, already disabled (rbd 116)', async (t) => {
  t.throws(() => planFeatureUpdate(bits('exclusive-lock'), bits('journaling'), false),
    { message: 'one or more requested features are already disabled; failed to update image features: (22) Invalid argument' });
  t.throws(() => planFeatureUpdate(bits('exclusive-lock,journaling'), bits('exclusive-lock'), false),
    /cannot disable exclusive-lock\. object-map or journaling must be disabled before disabling exclusive-lock\./);
  t.equal(planFeatureUpdate(bits('exclusive-lock,journaling'), bits('exclusive-lock,journaling'), false).newFeatures, 0);
  t.equal(planFeatureUpdate(61, bits('object-map'), false).newFeatures, 1 | 4 | 32, 'object-map takes fast-diff along');
  t.equal(planFeatureUpdate(61, bits('fast-diff'), false).newFeatures, 61 - 16, 'fast-diff may go alone');
  t.equal(planFeatureUpdate(61, bits('deep-flatten'), false).newFeatures, 61 - 32);
  t.throws(() => planFeatureUpdate(61, bits('layering'), false), /cannot update immutable features/);
});
