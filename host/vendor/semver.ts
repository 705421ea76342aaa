// The two semver functions the module loader uses, bundled into one file by the build (README.md here).
import semver from 'semver';

export const satisfies = semver.satisfies;
export const validRange = semver.validRange;
