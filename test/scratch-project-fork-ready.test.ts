// Issue 9, as a user meets it: a project outside the repository runs its
// program fork-ready with the package's command, `npx multiproc`, from
// TypeScript (tsx's loader) and compiled to JavaScript.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { scratchProject } from './support/scratch-project.ts';

const APP = readFileSync(new URL('./fixtures/scratch/fork-ready-app.ts', import.meta.url), 'utf8');
const EXPECTED = ['child (forked): hello, as of start()', 'parent: exit 0, data changed by the parent'];

test('npx multiproc app.ts and npx multiproc out/app.js really fork: a closure, a class instance and a module-level let as of start()', async () => {
  using project = scratchProject();
  project.write({ 'fork-ready-app.ts': APP });
  for (const program of ['fork-ready-app.ts', project.compile('fork-ready-app.ts')]) {
    const run = await project.multiproc(program);
    assert.equal(run.code, 0, `${program}: ${run.stderr}`);
    assert.deepEqual(run.stdout.trimEnd().split('\n'), EXPECTED, `${program}: ${run.stderr}`);
  }
});

const POOL_APP = readFileSync(new URL('./fixtures/scratch/fork-ready-pool.ts', import.meta.url), 'utf8');
const POOL_TASKS = readFileSync(new URL('./fixtures/scratch/fork-ready-pool-tasks.ts', import.meta.url), 'utf8');
const POOL_EXPECTED = ['squares: 1 4 9', 'offsets: 101 102 103', 'negated: -1 -2 -3', 'many: 1000'];

// The workers are forks taken while the main module waits at a top-level
// await: import() of that module would wait forever in them, and under tsx
// any import() would, so they use the modules they inherited.
test('a fork-ready program\'s Pool forks its workers, and they find task functions of the waiting main module and of its imports', async () => {
  using project = scratchProject();
  project.write({ 'fork-ready-pool.ts': POOL_APP, 'fork-ready-pool-tasks.ts': POOL_TASKS });
  for (const program of ['fork-ready-pool.ts', project.compile('fork-ready-pool.ts')]) {
    const run = await project.multiproc(program);
    assert.equal(run.code, 0, `${program}: ${run.stderr}`);
    assert.deepEqual(run.stdout.trimEnd().split('\n'), POOL_EXPECTED, `${program}: ${run.stderr}`);
  }
});
