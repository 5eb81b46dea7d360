// The warm-up a forking process runs before its first fork (child-path-warmup.ts):
// it must leave no trace a program could see, and never keep a program alive.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { warmUpChildPath } from '../src/process/child-path-warmup.ts';

test('the warm-up leaves no listener, pending exit code, timer or handle behind, and runs once', async () => {
  const listenersBefore = process.eventNames().map((name) => [name, process.listenerCount(name)]);
  const resourcesBefore = process.getActiveResourcesInfo().sort();
  const first = warmUpChildPath();
  assert.equal(warmUpChildPath(), first, 'a second call ran it again');
  await first;
  // One more turn of the loop: the warm-up's socket finishes closing in the turn its promise settles.
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(process.eventNames().map((name) => [name, process.listenerCount(name)]), listenersBefore);
  assert.deepEqual(process.getActiveResourcesInfo().sort(), resourcesBefore);
  assert.equal(process.exitCode, undefined);
});

test('a program whose only business is the warm-up exits at once, with 0', () => {
  const module = fileURLToPath(new URL('../src/process/child-path-warmup.ts', import.meta.url));
  const run = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', `(await import(${JSON.stringify(module)})).warmUpChildPath(); console.log('called');`],
    { encoding: 'utf8', timeout: 60_000 },
  );
  assert.equal(run.error, undefined, 'the program did not end within 60 s');
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stdout, 'called\n');
});
