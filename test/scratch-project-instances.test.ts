// Items 2 and 3 of issue 11 (class instances keep their class; what cannot
// travel fails loudly in the caller with its path), from a project outside
// the repository, under every start method, with tsx and compiled with plain node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { scratchProject, type ScratchRun } from './support/scratch-project.ts';

const fixture = readFileSync(new URL('./fixtures/scratch/instances-app.ts', import.meta.url), 'utf8');

function assertInstancesTravel(run: ScratchRun, method: string): void {
  const context = `stdout:\n${run.stdout}\nstderr:\n${run.stderr}`;
  assert.equal(run.code, 0, context);
  const expected = [
    'argument: Segment length=5 from=true tag=true',
    'hook argument: Token t0k3n',
    'queue message: Point norm=10',
    'pipe message: Segment length=2 from=true tag=true',
    'process exit 0',
    'task result: Point norm=5',
  ];
  // Only a forked child inherits globalThis, and with it the Point stored there.
  if (method === 'fork') expected.push('fork snapshot: Point norm=1');
  for (const line of expected) assert.ok(run.stdout.includes(`${line}\n`), `missing "${line}"; ${context}`);
  if (method !== 'fork') assert.ok(!run.stdout.includes('fork snapshot'), context);
  const refusals: [string, RegExp][] = [
    ['server', /^server: UnserializableError: Process argument args\[1\] cannot be sent .*it is a Server \(from node:net\)/m],
    ['socket', /^socket: UnserializableError: put\(\) argument obj\.socket cannot be sent .*it is a Socket \(from node:net\)/m],
    ['stream', /^stream: UnserializableError: Process argument args\[0\]\.out cannot be sent .*it is a PassThrough/m],
    ['port', /^port: UnserializableError: Process argument args\[0\] cannot be sent .*MessagePort/m],
    ['secret', /^secret: UnserializableError: Process argument args\[0\]\[0\] cannot be sent .*instance of Secret, whose private #fields/m],
    ['child process', /^child process: UnserializableError: Process argument args\[0\]\.child cannot be sent .*it is a ChildProcess/m],
    ['worker', /^worker: UnserializableError: Process argument args\[0\] cannot be sent .*it is a Worker/m],
  ];
  for (const [label, pattern] of refusals) assert.match(run.stdout, pattern, `${label}; ${context}`);
}

for (const method of ['spawn', 'fork', 'forkserver'] as const) {
  test(`class instances keep their class; native objects are refused with their path (${method})`, async () => {
    using project = scratchProject();
    project.write({ 'instances-app.ts': fixture });
    assertInstancesTravel(await project.tsx('instances-app.ts', [method]), method);
    assertInstancesTravel(await project.compileAndNode('instances-app.ts', [method]), method);
  });
}
