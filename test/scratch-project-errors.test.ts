// Item 2 of issue 11: an error a child raises reaches the caller with its own
// class (module-level, not exported), message, fields, and a cause holding
// the remote stack at the right file, line and column of the user's source.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { scratchProject, type ScratchRun } from './support/scratch-project.ts';

const source = readFileSync(new URL('./fixtures/scratch/errors-app.ts', import.meta.url), 'utf8');
const lines = source.split('\n');
const throwLine = lines.findIndex((line) => line.includes('// THROW-SITE'));
// V8 places a `throw new X()` frame at the `new`.
const THROW_SITE = new RegExp(`/errors-app\\.ts:${throwLine + 1}:${lines[throwLine].indexOf('new QuotaError') + 1}`);
const INIT_SITE = new RegExp(`/errors-app\\.ts:${lines.findIndex((line) => line.includes("'initializer refused'")) + 1}:\\d+`);

function assertErrorsArrive(run: ScratchRun, where: { task: RegExp; init: RegExp }): void {
  const context = `stdout:\n${run.stdout}\nstderr:\n${run.stderr}`;
  assert.equal(run.code, 0, context);
  const out = run.stdout;
  assert.ok(out.includes('task: own-class=true name=QuotaError message=over quota at 7 fields=E_QUOTA/7\n'), context);
  assert.match(out, new RegExp(`task cause: at failsOn7 \\(.*${where.task.source}\\)\n`), context);
  assert.ok(out.includes('executor: BrokenProcessPool\n'), context);
  assert.ok(out.includes('initializer: own-class=true name=QuotaError message=initializer refused fields=E_INIT/0\n'), context);
  assert.match(out, new RegExp(`initializer cause: at refuseToStart \\(.*${where.init.source}`), context);
  assert.ok(out.includes('process exit 1\n'), context);
  // The Process child prints the same, correct stack under "Process NAME:".
  assert.match(run.stderr, /Process Process-\d+:\nQuotaError: over quota at 7\n {4}at failsOn7 \(/, context);
  assert.match(run.stderr, new RegExp(`at failsOn7 \\(.*${where.task.source}\\)`), context);
  assert.match(run.stderr, /code: 'E_QUOTA',\n {2}limit: 7/, context);
}

for (const method of ['spawn', 'fork', 'forkserver'] as const) {
  test(`a child's error arrives with its class, fields and source-mapped stack (${method})`, async () => {
    using project = scratchProject();
    project.write({ 'errors-app.ts': source });
    const inSource = { task: THROW_SITE, init: INIT_SITE };
    assertErrorsArrive(await project.tsx('errors-app.ts', [method]), inSource);
    assertErrorsArrive(await project.compileAndNode('errors-app.ts', [method], ['--enable-source-maps']), inSource);
    if (method === 'spawn') {
      // Without source maps, compiled JavaScript is what ran, and the stack says so.
      const plain = await project.compileAndNode('errors-app.ts', [method]);
      assertErrorsArrive(plain, { task: /\/out\/errors-app\.js:\d+:\d+/, init: /\/out\/errors-app\.js:\d+:\d+/ });
    }
  });
}

test("the seed's spawn example reports the child's error at its real line", async () => {
  const example = readFileSync(new URL('../examples/globals-spawn.ts', import.meta.url), 'utf8');
  const exampleLines = example.split('\n');
  const line = exampleLines.findIndex((text) => text.includes('console.log(`child process: ${data}`)'));
  const site = new RegExp(`at task \\(.*/globals-spawn\\.ts:${line + 1}:${exampleLines[line].indexOf('${data}') + 3}\\)`);
  using project = scratchProject();
  project.write({ 'globals-spawn.ts': example });
  for (const run of [await project.tsx('globals-spawn.ts'), await project.compileAndNode('globals-spawn.ts', [], ['--enable-source-maps'])]) {
    const context = `stdout:\n${run.stdout}\nstderr:\n${run.stderr}`;
    assert.match(run.stderr, /Process Process-1:\nReferenceError: data is not defined\n/, context);
    assert.match(run.stderr, site, context);
  }
});
