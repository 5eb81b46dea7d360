// multiproc/testing: the internal hooks tests and benchmarks need, as a package subpath built to dist/.
import { test } from 'node:test';
import assert from 'node:assert/strict';

test('multiproc/testing resolves through package.json exports and carries the hooks', async () => {
  const testing = await import('multiproc/testing');
  const hooks = ['whenSparesReady', 'stopSpareChildren', 'whenTeardownProxiesGone', 'teardownProxiesReaped', 'ensureResourceTracker', 'pendingAsyncWaits', 'stopZygotes', 'zygotePids'];
  for (const name of hooks) {
    assert.equal(typeof (testing as Record<string, unknown>)[name], 'function', `${name} is exported`);
  }
  assert.equal(typeof testing.TRACKER_ENV, 'string');
  await testing.whenTeardownProxiesGone();
});

test('internal modules stay private: only the two subpaths are exported', async () => {
  await assert.rejects(import('multiproc/dist/process/vehicle-os-process.js' as string), { code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' });
});
