// The warm-up a forking process runs before its first fork (child-path-warmup.ts):
// it must leave no trace a program could see, and never keep a program alive.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

test('the warm-up leaves no listener, pending exit code, timer or handle behind, and runs once', () => {
  const run = spawnSync(process.execPath, [fileURLToPath(new URL('./fixtures/warmup-traces.mjs', import.meta.url))], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(run.status, 0, run.stderr);
  const seen = JSON.parse(run.stdout.trim());
  assert.deepEqual(seen.resourcesBefore, ['PipeWrap', 'PipeWrap', 'Timeout'], 'what loading left in flight did not settle within 10 s');
  assert.equal(seen.ranOnce, true, 'a second call ran it again');
  assert.deepEqual(seen.listenersAfter, seen.listenersBefore);
  assert.deepEqual(seen.resourcesAfter, seen.resourcesBefore);
  assert.equal(seen.exitCode, null);
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
