// The seed's semantics: what a child inherits under fork, spawn and forkserver.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  getAllStartMethods,
  getContext,
  getStartMethod,
  isMainModule,
  setForkserverPreload,
  setStartMethod,
} from '../src/index.ts';
import * as targets from './fixtures/targets.ts';
import { readResult, resultPath } from './support/result-files.ts';
import { runProgram } from './support/run-program.ts';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

test('start-method settings follow Python', () => {
  assert.equal(getStartMethod(), 'fork');
  assert.deepEqual(getAllStartMethods(), ['fork', 'spawn', 'forkserver']);
  setStartMethod('spawn');
  assert.equal(getStartMethod(), 'spawn');
  assert.throws(() => setStartMethod('fork'), /context has already been set/);
  setStartMethod('fork', { force: true });
  assert.equal(getStartMethod(), 'fork');
  assert.throws(() => setStartMethod('threads' as never, { force: true }), /cannot find context for "threads"/);
  assert.throws(() => getContext('vfork' as never), /cannot find context for "vfork".*fork, spawn, forkserver/);
  assert.equal(getContext('spawn').getStartMethod(), 'spawn');
  assert.equal(getContext('spawn'), getContext('spawn'));
  assert.equal(getContext().getStartMethod(), 'fork');
});

test('isMainModule is true only in the entry module of the main process', () => {
  // Under the test runner the entry module is this file.
  assert.equal(isMainModule(import.meta), true);
  assert.equal(isMainModule({ url: new URL('./fixtures/targets.ts', import.meta.url).href }), false);
  // CommonJS callers pass `module`, which carries the file name.
  assert.equal(isMainModule({ filename: fileURLToPath(import.meta.url) }), true);
  assert.equal(isMainModule({ filename: fixture('targets.ts') }), false);
  assert.throws(() => isMainModule({} as never), /expects import.meta/);
});

for (const method of ['fork', 'forkserver', 'spawn'] as const) {
  test(`${method}: the target's module is imported once in the child (fork: then the snapshot is applied)`, async () => {
    const out = resultPath();
    const p = new (getContext(method).Process)({ target: targets.describeSelf, args: [out] });
    p.start();
    await p.join();
    assert.equal(p.exitCode, 0);
    assert.equal(readResult(out).fixtureImports, 1);
  });
}

test('fork: the child sees a snapshot of globals as of start(); changes never propagate', async () => {
  const g = globalThis as Record<string, unknown>;
  g.sharedConfig = { nested: { level: 1 }, list: [1, 2] };
  g.snapshotOnly = 'before start';
  const fork = getContext('fork');
  const out = resultPath();
  const p = new fork.Process({ target: targets.readGlobal, args: [out, 'snapshotOnly'] });
  p.start();
  g.snapshotOnly = 'changed after start';
  (g.sharedConfig as { nested: { level: number } }).nested.level = 2;
  await p.join();
  assert.equal(p.exitCode, 0);
  assert.deepEqual(readResult(out), { has: true, value: 'before start' });
  assert.equal(g.snapshotOnly, 'changed after start', 'the child changed its copy only');

  const seen = resultPath();
  const q = new fork.Process({ target: targets.describeSelf, args: [seen] });
  q.start();
  await q.join();
  assert.deepEqual(readResult(seen).sharedConfig, { nested: { level: 2 }, list: [1, 2] });
  delete g.sharedConfig;
  delete g.snapshotOnly;
});

test('fork: globals that structured clone rejects are not inherited, and do not fail start()', async () => {
  const g = globalThis as Record<string, unknown>;
  g.notCloneable = () => 1;
  const out = resultPath();
  const p = new (getContext('fork').Process)({ target: targets.readGlobal, args: [out, 'notCloneable'] });
  p.start();
  await p.join();
  assert.deepEqual(readResult(out), { has: false, value: null });
  delete g.notCloneable;
});

for (const method of ['spawn', 'forkserver'] as const) {
  test(`${method}: globals set by the parent at run time are absent in the child`, async () => {
    (globalThis as Record<string, unknown>).runtimeOnly = 'parent value';
    const out = resultPath();
    const p = new (getContext(method).Process)({ target: targets.readGlobal, args: [out, 'runtimeOnly'] });
    p.start();
    await p.join();
    assert.deepEqual(readResult(out), { has: false, value: null });
    delete (globalThis as Record<string, unknown>).runtimeOnly;
  });
}

test('forkserver: children have imported the preload modules before they get work', async () => {
  setForkserverPreload([fixture('preload-marker.ts')]);
  const out = resultPath();
  const p = new (getContext('forkserver').Process)({ target: targets.readGlobal, args: [out, 'preloadedAt'] });
  p.start();
  await p.join();
  assert.deepEqual(readResult(out), { has: true, value: 'before-payload' });
  setForkserverPreload([]);
  assert.throws(() => setForkserverPreload('x' as never), /expects an array/);
});

test('forkserver: targets and subclasses from a preloaded module are found, exported or not', async () => {
  // The child learns where the preloaded module's exports are defined while
  // it waits; the target must still be the one sent, not just one of that name.
  setForkserverPreload([fixture('targets.ts')]);
  const previousMethod = getStartMethod();
  setStartMethod('forkserver', { force: true });
  try {
    const echoed = resultPath();
    const echo = new (getContext('forkserver').Process)({ target: targets.echoArgs, args: [echoed, 1, 'two'] });
    const hidden = resultPath();
    const hiddenChild = new (getContext('forkserver').Process)({
      target: targets.hiddenTargetHolder.hiddenTarget,
      args: [hidden],
    });
    const worker = new targets.Worker();
    worker.label = resultPath();
    for (const p of [echo, hiddenChild, worker]) p.start();
    await Promise.all([echo.join(), hiddenChild.join(), worker.join()]);
    assert.deepEqual(readResult(echoed), { args: [1, 'two'] });
    assert.deepEqual(readResult(hidden), { hidden: true, importedAt: 'number' });
    assert.deepEqual(readResult(worker.label), { name: worker.name, count: 3, isWorker: true });
  } finally {
    setStartMethod(previousMethod, { force: true });
    setForkserverPreload([]);
  }
});

for (const method of ['spawn', 'fork', 'forkserver'] as const) {
  test(`${method}: top-level code runs again in the child, guarded code does not; a missing global is a ReferenceError`, async () => {
    const log = resultPath();
    const run = await runProgram(fixture('spawn-reimport.ts'), { args: [method], env: { REIMPORT_LOG: log } });
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    assert.equal(run.code, 0, run.stderr);
    assert.equal(lines.filter((l) => l.startsWith('top-level')).length, 2);
    assert.equal(lines.filter((l) => l.startsWith('guarded')).length, 1);
    if (method === 'fork') {
      assert.ok(lines.includes('child sees data=string'));
      assert.ok(lines.includes('child reads set under the guard'));
      assert.ok(lines.includes('exit 0'));
    } else {
      assert.ok(lines.includes('child sees data=undefined'));
      assert.ok(lines.includes('exit 1'));
      assert.match(run.stderr, /^Process Process-1:\nReferenceError: data is not defined\n/m);
    }
  });
}

test('an unguarded entry point gets a clear error in the child, not a chain of processes', async () => {
  const run = await runProgram(fixture('unguarded.ts'));
  assert.equal(run.code, 0);
  assert.equal(run.stdout.trim(), 'exit 1');
  assert.match(run.stderr, /Process Process-1:\nInvalidStateError: An attempt has been made to start a new process before/);
  assert.match(run.stderr, /isMainModule\(import\.meta\)/);
  assert.equal(run.stderr.match(/Process Process-/g)?.length, 1);
});

test("a child's exit code is its target's, not one a module's top level set (in the child or in the zygote)", async () => {
  const atImport = (await import('./fixtures/exit-code-at-import.ts')) as typeof import('./fixtures/exit-code-at-import.ts');
  // It set this process's too, as it does in every process that imports it.
  assert.equal(process.exitCode, 2);
  process.exitCode = undefined;
  for (const method of ['spawn', 'fork', 'forkserver'] as const) {
    const { Process } = getContext(method);
    const returning = new Process({ target: atImport.returns });
    const settingItsOwn = new Process({ target: atImport.setsItsOwn });
    returning.start();
    settingItsOwn.start();
    await returning.join();
    await settingItsOwn.join();
    assert.deepEqual([method, returning.exitCode, settingItsOwn.exitCode], [method, 0, 4]);
  }
});

test('the multiproc command, imported rather than run (as a zygote imports the main module of `multiproc worker`), does nothing', async () => {
  const run = await runProgram(fixture('import-the-command.ts'));
  assert.deepEqual([run.code, run.stdout, run.stderr], [0, 'imported\n', '']);
});
