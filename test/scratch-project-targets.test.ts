// Item 1 of issue 11, as a user meets it: a project outside the repository
// whose entry module hands its own (unexported) functions to Process, Pool,
// ProcessPoolExecutor and as an initializer, run with tsx and, compiled, with
// plain node, under every start method.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { scratchProject, type ScratchRun } from './support/scratch-project.ts';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/scratch/${name}`, import.meta.url), 'utf8');

function assertAllTargetsWork(run: ScratchRun, sourceExtension: string): void {
  const context = `stdout:\n${run.stdout}\nstderr:\n${run.stderr}`;
  assert.equal(run.code, 0, context);
  const expected = [
    'hello 1 from Process-1',
    'process exit 0',
    'CJS 25!',
    'cjs exit 0',
    'map 1,4,9',
    'arrow 3,6',
    'initializer T:4',
    'bound 11,21',
  ];
  for (const line of expected) assert.ok(run.stdout.includes(`${line}\n`), `missing "${line}"; ${context}`);
  // A closure cannot travel by reference or by source; the error names it and its real line.
  assert.match(
    run.stdout,
    new RegExp(`closure task function 'counter' \\(file:///.*/targets-app\\.${sourceExtension}:2[23]:\\d+\\) .*uses count from an enclosing function`),
    context,
  );
  assert.ok(run.stdout.includes('executor 81\n'), context);
}

for (const method of ['spawn', 'fork', 'forkserver'] as const) {
  test(`unexported entry-module functions are targets, tasks and initializers (${method}, tsx and plain node)`, async () => {
    using project = scratchProject();
    project.write({ 'targets-app.ts': fixture('targets-app.ts'), 'cjs-helper.cts': fixture('cjs-helper.cts') });
    assertAllTargetsWork(await project.tsx('targets-app.ts', [method]), 'ts');
    assertAllTargetsWork(await project.compileAndNode('targets-app.ts', [method]), 'js');
  });
}

test('an unexported function of a CommonJS entry module is a target under every start method (node and tsx)', async () => {
  using project = scratchProject();
  project.write({ 'cjs-app.cjs': fixture('cjs-app.cjs') });
  for (const run of [await project.node('cjs-app.cjs'), await project.tsx('cjs-app.cjs')]) {
    const context = `stdout:\n${run.stdout}\nstderr:\n${run.stderr}`;
    for (const method of ['spawn', 'fork', 'forkserver']) {
      assert.ok(run.stdout.includes(`hello from a CommonJS entry under ${method}\n${method} exit 0\n`), context);
    }
  }
});

test('under tsx, a booted child loads the compiled library ahead of the loader, once per generation', async () => {
  using project = scratchProject();
  project.write({ 'boot-flags-app.ts': fixture('boot-flags-app.ts') });
  const run = await project.tsx('boot-flags-app.ts');
  const context = `stdout:\n${run.stdout}\nstderr:\n${run.stderr}`;
  assert.equal(run.code, 0, context);
  const lines = run.stdout.trim().split('\n');
  assert.equal(lines.at(-1), 'exit 0', context);
  const reports = lines.slice(0, 2).map((line) => JSON.parse(line) as { name: string; execArgv: string[] });
  // The names come from the library instance that ran the child: one copy, not a second one loaded through tsx.
  assert.deepEqual(reports.map((r) => r.name).sort(), ['Process-1', 'Process-1:1'], context);
  for (const { execArgv } of reports) {
    const ahead = execArgv.flatMap((flag, i) => (flag === '--import' && /\/dist\/index\.js$/.test(execArgv[i + 1]) ? [i] : []));
    const loader = execArgv.findIndex((flag, i) => flag === '--import' && /tsx/.test(execArgv[i + 1]));
    assert.equal(ahead.length, 1, `the library is imported ahead exactly once: ${execArgv.join(' ')}`);
    assert.ok(loader > ahead[0], `the library comes before the loader: ${execArgv.join(' ')}`);
  }
});

function assertEmulatedFork(run: ScratchRun, origin: 'forked' | 'booted'): void {
  const context = `stdout:\n${run.stdout}\nstderr:\n${run.stderr}`;
  assert.equal(run.code, 0, context);
  const lines = run.stdout.trimEnd().split('\n');
  // Each child: its own snapshot of globals as of its start(); the module-level let as imported.
  assert.ok(lines.includes(`first: origin=${origin} data=as of start counter=0`), context);
  assert.ok(lines.includes('first exit 0'), context);
  for (let i = 0; i < 12; i++) assert.ok(lines.includes(`burst-${i}: origin=${origin} data=burst ${i} counter=0`), context);
  assert.ok(lines.includes(`burst exits ${Array(12).fill(0).join(',')}`), context);
  assert.equal(lines.at(-1), 'parent data=burst 11 counter=5', context);
}

test('emulated fork: children forked from the zygote under plain node, booted under tsx, each with its own snapshot of globals', async () => {
  using project = scratchProject();
  project.write({ 'emulated-fork-app.ts': fixture('emulated-fork-app.ts') });
  // tsx's hooks run on a thread a forked child lacks, and a fork child may import() anything.
  const underTsx = await project.tsx('emulated-fork-app.ts');
  assertEmulatedFork(underTsx, 'booted');
  assert.doesNotMatch(underTsx.stderr, /MULTIPROC_FORK_FALLBACK/);
  const compiled = await project.compileAndNode('emulated-fork-app.ts');
  assertEmulatedFork(compiled, 'forked');
  assert.doesNotMatch(compiled.stderr, /MULTIPROC_FORK_FALLBACK/);
  // With the zygote booted ahead by prepare(), children are forked as before.
  const prepared = await project.compileAndNode('emulated-fork-app.ts', ['prepare']);
  assertEmulatedFork(prepared, 'forked');
  assert.equal(prepared.stdout.split('\n')[0], 'prepared', prepared.stdout);
  // Where forking is found unsafe, fork boots each child, and says so once.
  const fallback = await project.compileAndNode('emulated-fork-app.ts', ['canary-fails']);
  assertEmulatedFork(fallback, 'booted');
  assert.equal(fallback.stderr.match(/MULTIPROC_FORK_FALLBACK/g)?.length, 1, fallback.stderr);
});
