/**
 * multiproc/testing: internal hooks that the library's own tests and
 * benchmarks need to wait for background work deterministically. Not part of
 * the stable API: names here may change between releases.
 */
/** Resolves once the pre-started spare children are ready (benchmarks wait for them before timing). */
export { whenSparesReady, stopSpareChildren } from './process/vehicle-os-process.ts';
/** Waits for (and counts) the teardown proxies that outlive a test's children. */
export { whenTeardownProxiesGone, teardownProxiesReaped } from './platform/teardown-proxies.ts';
/** The environment variable through which children find their resource tracker; starts the tracker now. */
export { TRACKER_ENV, ensureResourceTracker } from './platform/resource-tracker.ts';
/** The process name (`comm`) of a teardown proxy, to find them in /proc. */
export { TEARDOWN_PROXY_NAME } from './platform/native.ts';
/** How many async futex waits are pending in this thread (a wait that settled must leave none). */
export { pendingAsyncWaits } from './platform/native.ts';
/** The forkserver zygotes' pids, and stopping them (tests that need a fresh zygote). */
export { stopZygotes, zygoteNativeForks, zygotePids, zygoteSpareHandoffs } from './process/zygote.ts';
