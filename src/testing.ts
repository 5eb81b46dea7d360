/**
 * multiproc/testing: internal hooks that the library's own tests and
 * benchmarks need to wait for background work deterministically. Not part of
 * the stable API: names here may change between releases.
 */
/** Resolves once the pre-started spare children are ready (benchmarks wait for them before timing). */
export { whenSparesReady, stopSpareChildren } from './process/vehicle-os-process.ts';
/** Waits for (and counts) the teardown proxies that outlive a test's children. */
export { whenTeardownProxiesGone, teardownProxiesReaped } from './platform/teardown-proxies.ts';
/** The environment variable through which children find their resource tracker. */
export { TRACKER_ENV } from './platform/resource-tracker.ts';
