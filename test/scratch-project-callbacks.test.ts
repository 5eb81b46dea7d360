// Item 1 of issue 11, functions as callback arguments: module-level
// functions (and their bind() partials) travel by reference inside Process
// arguments, object fields, pool tasks, task results and queue messages;
// closures and nested functions fail in the caller, naming the value's path.
// Also: a pool worker that imported the program for an exported task still
// finds an unexported one later. From a project outside the repository,
// under every start method, with tsx and compiled with plain node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { scratchProject, type ScratchRun } from './support/scratch-project.ts';

const fixture = readFileSync(new URL('./fixtures/scratch/callbacks-app.ts', import.meta.url), 'utf8');

function assertCallbacksTravel(run: ScratchRun): void {
  const context = `stdout:\n${run.stdout}\nstderr:\n${run.stderr}`;
  assert.equal(run.code, 0, context);
  const expected = [
    // applyTwice(double, 3), add.bind(null, 5)(1) from an object field, double from an array in it.
    'process 12 6 4',
    'queue message 8',
    'pipe message 101',
    'process exit 0',
    'initargs 1001',
    'starmap 4,22',
    'result 42',
    'exported first 6',
    'unexported after 8',
  ];
  for (const line of expected) assert.ok(run.stdout.includes(`${line}\n`), `missing "${line}"; ${context}`);
  assert.match(
    run.stdout,
    /^closure: UnserializableError: Process argument args\[0\] cannot be sent .*function 'counter', a closure over count/m,
    context,
  );
  assert.match(run.stdout, /^nested: UnserializableError: items\[0\]\[0\] cannot be sent .*defined inside function 'outer'/m, context);
}

for (const method of ['spawn', 'fork', 'forkserver'] as const) {
  test(`module-level functions travel inside arguments, results and messages; closures fail in the caller (${method})`, async () => {
    using project = scratchProject();
    project.write({ 'callbacks-app.ts': fixture });
    assertCallbacksTravel(await project.tsx('callbacks-app.ts', [method]));
    assertCallbacksTravel(await project.compileAndNode('callbacks-app.ts', [method]));
  });
}
