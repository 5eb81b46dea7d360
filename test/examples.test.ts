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
