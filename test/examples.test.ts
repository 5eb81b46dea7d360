// Every example runs as a user would run it (npx tsx examples/NAME.ts, on
// the built package) and prints what its header promises.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { runProgram } from './support/run-program.ts';

const example = (name: string) => fileURLToPath(new URL(`../examples/${name}`, import.meta.url));

test('examples/globals-fork.ts prints the seed\'s fork output line for line', async () => {
  const run = await runProgram(example('globals-fork.ts'), { mergeStderr: true });
  assert.equal(run.code, 0);
  assert.deepEqual(run.stdout.trimEnd().split('\n'), [
    'main process: Hello there',
    'child process before: Hello there',
    'child process after: hello hello!',
    'main process: Hello there',
  ]);
});

test('examples/globals-fork-ready.ts, run fork-ready (multiproc FILE), prints the seed\'s four lines with a module-level let', async () => {
  const run = await runProgram(example('globals-fork-ready.ts'), { mergeStderr: true, forkReady: true });
  assert.equal(run.code, 0, run.stdout);
  assert.deepEqual(run.stdout.trimEnd().split('\n'), [
    'main process: Hello there',
    'child process before: Hello there',
    'child process after: hello hello!',
    'main process: Hello there',
  ]);
});

test('examples/globals-fork-ready.ts under plain tsx: fork is emulated, and the child sees the module\'s initial value', async () => {
  const run = await runProgram(example('globals-fork-ready.ts'), { mergeStderr: true });
  assert.equal(run.code, 0, run.stdout);
  assert.deepEqual(run.stdout.trimEnd().split('\n'), [
    'main process: Hello there',
    'child process before: initial',
    'child process after: hello hello!',
    'main process: Hello there',
  ]);
});

test('examples/globals-spawn.ts prints the seed\'s spawn output, with ReferenceError for NameError', async () => {
  const run = await runProgram(example('globals-spawn.ts'), { mergeStderr: true });
  assert.equal(run.code, 0);
  const lines = run.stdout.trimEnd().split('\n');
  assert.equal(lines[0], 'main process: Hello there');
  assert.equal(lines[1], 'Process Process-1:');
  assert.equal(lines[2], 'ReferenceError: data is not defined');
  assert.match(lines[3], /^ {4}at task \(/);
  assert.equal(lines.at(-1), 'main process: Hello there');
  assert.ok(!run.stdout.includes('child process'));
});

test('examples/pool-progress.ts maps in a pool with the serial loop\'s results', async () => {
  const run = await runProgram(example('pool-progress.ts'));
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /^serial loop: 48 tasks in \d+ ms$/m);
  assert.match(run.stdout, /^pool of \d+: 48 tasks in \d+ ms \(same results: true\)$/m);
  assert.match(run.stdout, /^speed-up: \d+\.\d\dx$/m);
});

test('examples/shared-counter.ts adds up exactly across two processes', async () => {
  const run = await runProgram(example('shared-counter.ts'));
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(run.stdout.trimEnd().split('\n'), ['exit codes: 0, 0', 'total: 200000']);
});

test('examples/managers.ts shares a dict, a list, a Namespace and a remote counter between processes', async () => {
  const run = await runProgram(example('managers.ts'));
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(run.stdout.trimEnd().split('\n'), [
    "results: { 'worker 1': 1, 'worker 2': 4, 'worker 3': 9 }",
    'log entries: 3',
    "nested: [ 'a list inside a dict' ]",
    'remote tally: 42',
  ]);
});

test('examples/demo.ts (npm run demo) runs every example and succeeds', async () => {
  const run = await runProgram(example('demo.ts'), { mergeStderr: true });
  assert.equal(run.code, 0, run.stdout);
  for (const file of ['globals-fork.ts', 'globals-spawn.ts', 'shared-counter.ts', 'pool-progress.ts']) {
    assert.match(run.stdout, new RegExp(`=== examples/${file.replace('.', '\\.')} — `));
  }
  assert.match(run.stdout, /child process after: hello hello!/);
  assert.match(run.stdout, /ReferenceError: data is not defined/);
});
