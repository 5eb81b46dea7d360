// What can be a target and an argument, and the errors for what cannot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { activeChildren, Process, UnserializableError } from '../src/index.ts';
import * as targets from './fixtures/targets.ts';
import { makeClosure, makeSelfContained } from './fixtures/closures.ts';
import { readResult, resultPath } from './support/result-files.ts';
import { runProgram } from './support/run-program.ts';
// @ts-expect-error: a plain JavaScript CommonJS module without types
import { cjsTarget } from './fixtures/commonjs-target.cjs';
// @ts-expect-error: a plain JavaScript module without types
import { mjsTarget } from './fixtures/esm-target.mjs';

async function run(target: (...args: any[]) => unknown, args: unknown[]): Promise<Process> {
  const p = new Process({ target, args });
  p.start();
  await p.join();
  return p;
}

test('a module-level function that is not exported is found again in the child', async () => {
  const out = resultPath();
  const p = await run(targets.hiddenTargetHolder.hiddenTarget, [out]);
  assert.equal(p.exitCode, 0);
  assert.deepEqual(readResult(out), { hidden: true, importedAt: 'number' });
});

test('targets from plain JavaScript: CommonJS (.cjs) and ES module (.mjs)', async () => {
  const cjsOut = resultPath();
  const mjsOut = resultPath();
  const [a, b] = await Promise.all([run(cjsTarget, [cjsOut, 'word']), run(mjsTarget, [mjsOut])]);
  assert.equal(a.exitCode, 0);
  assert.equal(b.exitCode, 0);
  assert.deepEqual(readResult(cjsOut), { word: 'word-from-cjs' });
  assert.deepEqual(readResult(mjsOut), { from: 'mjs' });
});

test('a function created at run time that uses only its arguments and globals is sent by source', async () => {
  const p = await run(makeSelfContained(), [23]);
  assert.equal(p.exitCode, 23);
});

test('a closure over an enclosing function\'s variable fails in the child with an error naming it', async () => {
  const closure = makeClosure('secret');
  const run = await runProgram(fileURLToPath(new URL('./fixtures/guarded-closure.ts', import.meta.url)));
  assert.equal(run.stdout.trim(), 'exit 1');
  assert.match(run.stderr, /target 'writeMarker' .* is not exported, so the child cannot find it .* uses the module-level writeFileSync\. Export it\./);
  const p = new Process({ target: closure, args: [resultPath()] });
  p.start();
  await p.join();
  assert.equal(p.exitCode, 1);
});

// Bound functions of module-level functions travel (issue 11, test/scratch-project-targets.test.ts).
test('native functions, bound or not, fail at start(), naming the function, and start no child', () => {
  for (const target of [Math.max, Math.max.bind(null, 0)]) {
    const p = new Process({ target });
    assert.throws(() => p.start(), /target 'max' cannot be sent to a child process: it is a native function/);
    assert.equal(p.pid, null);
  }
});

test('arguments: structured-clone types arrive intact', async () => {
  const out = resultPath();
  const when = new Date('2026-01-02T03:04:05Z');
  const p = await run(targets.echoArgs, [out, new Map([[1, 'a']]), when, [1, [2, [3]]], 'ü', -0.5, true, null]);
  assert.equal(p.exitCode, 0);
  assert.deepEqual(readResult(out).args, [{ map: [[1, 'a']] }, { date: when.toISOString() }, [1, [2, [3]]], 'ü', -0.5, true, null]);
});

test('an argument structured clone rejects fails at start(), naming it, and no child starts', () => {
  const before = activeChildren().length;
  const cases: Array<[unknown[], RegExp]> = [
    [['ok', makeClosure('x')], /Process argument args\[1\] cannot be sent to another process: it is function '<anonymous>', a closure over captured/],
    [[{ run: makeSelfContained() }], /Process argument args\[0\]\.run cannot be sent .* defined inside function 'makeSelfContained'/],
    [[{ deep: { fn: Symbol('s') } }], /args\[0\]\.deep\.fn cannot be sent .* a symbol/],
    [[new WeakMap()], /args\[0\] cannot be sent .* WeakMap/],
  ];
  for (const [args, message] of cases) {
    const p = new Process({ target: targets.echoArgs as (...a: unknown[]) => void, args });
    assert.throws(() => p.start(), (error: unknown) => error instanceof UnserializableError && message.test(error.message));
    assert.equal(p.pid, null);
  }
  assert.equal(activeChildren().length, before);
});

test('subclass fields that cannot be sent fail at start(), naming the field', () => {
  const worker = new targets.Worker();
  (worker as unknown as { callback: unknown }).callback = makeClosure('x');
  assert.throws(() => worker.start(), /Process field 'callback' cannot be sent/);
});

