// Process lifecycle: start/join/exit codes/signals/close/names/daemon, with real children.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { Process, currentProcess, parentProcess, activeChildren, cpuCount } from '../src/index.ts';
import * as targets from './fixtures/targets.ts';
import { readResult, resultPath } from './support/result-files.ts';

test('a target runs in a child with its arguments, and exits 0', async () => {
  const out = resultPath();
  const p = new Process({ target: targets.echoArgs, args: [out, 1, 'two', { three: [3] }, null] });
  assert.equal(p.exitCode, null);
  assert.equal(p.pid, null);
  assert.equal(p.isAlive(), false);
  p.start();
  assert.equal(typeof p.pid, 'number');
  assert.notEqual(p.pid, process.pid);
  await p.join();
  assert.equal(p.exitCode, 0);
  assert.equal(p.isAlive(), false);
  assert.deepEqual(readResult(out), { args: [1, 'two', { three: [3] }, null] });
});

test('exit codes follow Python: process.exit(n), uncaught error, rejected promise', async () => {
  const exits = new Process({ target: targets.exitWith, args: [7] });
  const throws = new Process({ target: targets.throwError, args: ['boom'] });
  const rejects = new Process({ target: targets.rejectLater, args: ['later'] });
  for (const p of [exits, throws, rejects]) p.start();
  await Promise.all([exits.join(), throws.join(), rejects.join()]);
  assert.equal(exits.exitCode, 7);
  assert.equal(throws.exitCode, 1);
  assert.equal(rejects.exitCode, 1);
});

test('an async target is awaited before the child exits', async () => {
  const out = resultPath();
  const p = new Process({ target: targets.asyncWrite, args: [out] });
  p.start();
  await p.join();
  assert.equal(p.exitCode, 0);
  assert.deepEqual(readResult(out), { async: true });
});

test('terminate() gives -15, kill() -9, another signal -N', async () => {
  const terminated = new Process({ target: targets.sleepForever });
  const killed = new Process({ target: targets.busyForever });
  const interrupted = new Process({ target: targets.raiseSignal, args: ['SIGINT'] });
  for (const p of [terminated, killed, interrupted]) p.start();
  assert.equal(terminated.isAlive(), true);
  terminated.terminate();
  killed.kill();
  await Promise.all([terminated.join(), killed.join(), interrupted.join()]);
  assert.equal(terminated.exitCode, -15);
  assert.equal(killed.exitCode, -9);
  assert.equal(interrupted.exitCode, -2);
});

test('join(timeoutMs) resolves after the timeout without rejecting; exitCode stays null', async () => {
  const p = new Process({ target: targets.sleepForever });
  p.start();
  await p.join(50);
  assert.equal(p.exitCode, null);
  assert.equal(p.isAlive(), true);
  p.kill();
  await p.join();
  assert.equal(p.exitCode, -9);
});

test('join(-1) does not wait: it returns while the child runs, which stays alive with exitCode null', async () => {
  const p = new Process({ target: targets.sleepForever });
  p.start();
  await p.join(-1);
  assert.equal(p.exitCode, null);
  assert.equal(p.isAlive(), true);
  p.kill();
  await p.join();
  await p.join(-1);
  assert.equal(p.exitCode, -9);
});

test('join() does not hang on a child killed from outside', async () => {
  const p = new Process({ target: targets.sleepForever });
  p.start();
  process.kill(p.pid!, 'SIGKILL');
  await p.join();
  assert.equal(p.exitCode, -9);
});

test('close() throws while running; afterwards members throw "process object is closed"', async () => {
  const p = new Process({ target: targets.sleepForever });
  p.start();
  assert.throws(() => p.close(), /Cannot close a process while it is still running/);
  p.terminate();
  await p.join();
  p.close();
  assert.throws(() => p.pid, /process object is closed/);
  assert.throws(() => p.exitCode, /process object is closed/);
  assert.throws(() => p.isAlive(), /process object is closed/);
  assert.throws(() => p.start(), /process object is closed/);
  await assert.rejects(p.join(), /process object is closed/);
  assert.throws(() => p.terminate(), /process object is closed/);
});

test('misuse throws: start twice, daemon after start, join before start, bad options', async () => {
  const p = new Process({ target: targets.exitWith, args: [0] });
  await assert.rejects(p.join(), /can only join a started process/);
  assert.throws(() => p.terminate(), /has not been started/);
  p.start();
  assert.throws(() => p.start(), /cannot start a process twice/);
  assert.throws(() => (p.daemon = true), /process has already started/);
  await assert.rejects(p.join('x' as never), (e: unknown) => e instanceof TypeError && /join: the wait argument must be a timeout in milliseconds/.test(e.message));
  await assert.rejects(p.join(NaN), (e: unknown) => e instanceof TypeError && /join: timeout must be a number/.test(e.message));
  await assert.rejects(p.join({ timeout: 'x' as never }), (e: unknown) => e instanceof TypeError && /join: options.timeout must be a number/.test(e.message));
  await p.join();
  assert.throws(() => new Process({ target: 42 as never }), /'target' must be a function, got number/);
  assert.throws(() => new Process({ target: targets.exitWith, args: 'x' as never }), /'args' must be an array/);
  assert.throws(() => new Process({ name: 5 as never }), /'name' must be a string/);
  assert.throws(() => new Process({ daemon: 'yes' as never }), /'daemon' must be a boolean/);
});

test('names count up as Process-N, and a child names its own children Process-N:M', async () => {
  const first = new Process({ target: targets.exitWith, args: [0] });
  const second = new Process({ target: targets.exitWith, args: [0] });
  const n = Number(first.name.split('-')[1]);
  assert.match(first.name, /^Process-\d+$/);
  assert.equal(second.name, `Process-${n + 1}`);
  assert.equal(new Process({ name: 'custom' }).name, 'custom');
  const out = resultPath();
  const parent = new Process({ target: targets.startGrandchild, args: [out] });
  parent.start();
  await parent.join();
  assert.equal(parent.exitCode, 0);
  const grandchild = readResult(out);
  assert.equal(grandchild.name, `${parent.name}:1`);
  assert.equal(grandchild.parentName, parent.name);
  assert.equal(grandchild.parentPid, parent.pid);
});

test('currentProcess() and parentProcess() in the main process and in a child', async () => {
  assert.equal(currentProcess().name, 'MainProcess');
  assert.equal(currentProcess().pid, process.pid);
  assert.equal(currentProcess().isAlive(), true);
  assert.equal(parentProcess(), null);
  await assert.rejects(currentProcess().join(), /cannot join current process/);
  const out = resultPath();
  const p = new Process({ target: targets.describeSelf, args: [out], name: 'described' });
  p.start();
  await p.join();
  const seen = readResult(out);
  assert.equal(seen.name, 'described');
  assert.equal(seen.pid, p.pid);
  assert.equal(seen.parentName, 'MainProcess');
  assert.equal(seen.parentPid, process.pid);
  assert.equal(seen.parentAlive, true);
});

test('activeChildren() lists running children only; cpuCount() is positive', async () => {
  const p = new Process({ target: targets.sleepForever });
  p.start();
  assert.ok(activeChildren().includes(p));
  p.kill();
  await p.join();
  assert.ok(!activeChildren().includes(p));
  assert.ok(cpuCount() >= 1);
});

test('a subclass with its own run() and fields runs in the child', async () => {
  const out = resultPath();
  const worker = new targets.Worker();
  worker.label = out;
  worker.count = 42;
  worker.start();
  await worker.join();
  assert.equal(worker.exitCode, 0);
  assert.deepEqual(readResult(out), { name: worker.name, count: 42, isWorker: true });
});

test('a daemon child may not start children of its own', async () => {
  const out = resultPath();
  const p = new Process({ target: targets.tryToStartChild, args: [out], daemon: true });
  assert.equal(p.daemon, true);
  p.start();
  await p.join();
  assert.equal(readResult(out).error, 'daemonic processes are not allowed to have children');
  assert.equal(existsSync(out), true);
});
