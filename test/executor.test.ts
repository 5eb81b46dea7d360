// ProcessPoolExecutor with real worker processes: futures, map, shutdown, broken pools.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { BrokenProcessPool, CancelledError, TimeoutError, ProcessPoolExecutor } from '../src/index.ts';
import * as tasks from './fixtures/pool-tasks.ts';
import { resultPath } from './support/result-files.ts';
import { isGone } from './support/processes.ts';


async function collect<T>(iterator: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of iterator) out.push(x);
  return out;
}

let executor: ProcessPoolExecutor;
before(() => {
  executor = new ProcessPoolExecutor({ maxWorkers: 2 });
});
after(async () => {
  const pids = executor.workerPids;
  await executor.shutdown();
  for (const pid of pids) assert.ok(isGone(pid));
});

test('submit returns a Future: a Promise with done(), running() and cancel()', async () => {
  const future = executor.submit(tasks.add, 2, 3);
  assert.equal(future.done(), false);
  assert.equal(await future, 5);
  assert.equal(future.done(), true);
  assert.equal(future.running(), false);
  assert.equal(future.cancel(), false);
  assert.equal(await executor.submit(tasks.slowDouble, 4), 8);
  await assert.rejects(executor.submit(tasks.failOn, 3), (e: unknown) => (e as Error).name === 'ValidationError');
});

test('cancel() withdraws a call that has not started; a running one cannot be cancelled', async () => {
  const out = resultPath();
  // Two long calls occupy both workers; the third waits in the queue.
  const first = executor.submit(tasks.slowDouble, 1);
  const second = executor.submit(tasks.slowDouble, 2);
  const queued = Array.from({ length: 200 }, () => executor.submit(tasks.slowDouble, 3));
  const last = executor.submit(tasks.touch, out);
  assert.equal(last.cancel(), true);
  assert.equal(last.cancelled(), true);
  assert.equal(last.done(), true);
  await assert.rejects(last, CancelledError);
  assert.equal(await first, 2);
  assert.equal(await second, 4);
  await Promise.all(queued);
  assert.equal(existsSync(out), false);
});

test('map yields in order, reports progress, and honours chunksize', async () => {
  const progress: number[] = [];
  assert.deepEqual(await collect(executor.map(tasks.square, [1, 2, 3, 4, 5], { chunksize: 2, onProgress: (d) => progress.push(d) })), [
    1, 4, 9, 16, 25,
  ]);
  assert.equal(progress.at(-1), 5);
  assert.deepEqual(await collect(executor.map(tasks.square, [])), []);
  await assert.rejects(collect(executor.map(tasks.failOn, [1, 2, 3])), /bad item 3/);
});

test('map with a timeout raises TimeoutError when a result is late', async () => {
  const stuck = new ProcessPoolExecutor({ maxWorkers: 1 });
  const iterator = stuck.map(tasks.sleepForever, [1], { timeout: 50 });
  await assert.rejects(iterator.next(), TimeoutError);
  // Python offers no way to stop a running call either; killing the worker breaks the executor.
  const [pid] = stuck.workerPids;
  process.kill(pid, 'SIGKILL');
  await stuck.shutdown();
  assert.ok(isGone(pid));
});

test('Future.result(timeoutMs) and exception(timeoutMs): a negative timeout does not wait, and times out as 0 does (as Python)', async () => {
  const stuck = new ProcessPoolExecutor({ maxWorkers: 1 });
  const running = stuck.submit(tasks.sleepForever);
  await assert.rejects(running.result(-1), TimeoutError);
  await assert.rejects(running.result(0), TimeoutError);
  await assert.rejects(running.exception(-1), TimeoutError);
  await assert.rejects(collect(stuck.map(tasks.square, [1], { timeout: -1 })), TimeoutError);
  // A cancelled call gives CancelledError from both, as in Python.
  const withdrawn = stuck.submit(tasks.add, 1, 2);
  assert.equal(withdrawn.cancel(), true);
  await assert.rejects(withdrawn.result(-1), CancelledError);
  await assert.rejects(withdrawn.exception(-1), CancelledError);
  const [pid] = stuck.workerPids;
  process.kill(pid, 'SIGKILL');
  assert.ok((await running.exception()) instanceof BrokenProcessPool);
  await stuck.shutdown();
  assert.ok(isGone(pid));
});

test('Future.result and exception of a finished call answer at once, even with a negative timeout', async () => {
  const ok = executor.submit(tasks.add, 2, 3);
  const failed = executor.submit(tasks.failOn, 3);
  await Promise.allSettled([ok, failed]);
  assert.equal(await ok.result(-1), 5);
  assert.equal(await ok.exception(-1), null);
  await assert.rejects(failed.result(-1), (e: unknown) => (e as Error).name === 'ValidationError');
  assert.equal((await failed.exception(-1))?.name, 'ValidationError');
  assert.equal(await executor.submit(tasks.add, 1, 1).result(), 2);
});

test('arguments are validated and named', async () => {
  assert.throws(() => new ProcessPoolExecutor({ maxWorkers: 0 }), /'maxWorkers' must be greater than 0/);
  assert.throws(() => new ProcessPoolExecutor({ maxWorkers: 'x' as never }), /'maxWorkers' must be an integer/);
  assert.throws(() => new ProcessPoolExecutor({ initializer: 1 as never }), /'initializer' must be a function/);
  assert.throws(() => new ProcessPoolExecutor({ maxTasksPerChild: -1 }), /'maxTasksPerChild'/);
  assert.throws(() => executor.submit(3 as never), /fn must be a function/);
  assert.throws(() => executor.submit(tasks.identity, () => 1), /args\[0\] cannot be sent/);
  assert.throws(() => executor.map(tasks.square, [1], { timeout: 'x' as never }), /map: timeout must be a number of milliseconds/);
  await assert.rejects(executor.submit(tasks.add, 1, 2).result('x' as never), (e: unknown) => e instanceof TypeError && /Future\.result: the wait argument must be a timeout/.test(e.message));
  await assert.rejects(executor.submit(tasks.add, 1, 2).exception(NaN), (e: unknown) => e instanceof TypeError && /Future\.exception: timeout must be a number/.test(e.message));
  assert.throws(() => executor.map(tasks.square, [1], { chunksize: 0 }), /chunksize must be a positive integer/);
  assert.throws(() => executor.map(tasks.square, 4 as never), /items must be an iterable/);
  await assert.rejects(executor.shutdown({ wait: 'yes' as never }), /wait must be a boolean/);
});

test('a worker that dies breaks the executor: pending and later submits get BrokenProcessPool', async () => {
  const fragile = new ProcessPoolExecutor({ maxWorkers: 1 });
  const pids = fragile.workerPids;
  const dying = fragile.submit(tasks.killSelf);
  const pending = fragile.submit(tasks.add, 1, 2);
  await assert.rejects(dying, (e: unknown) => e instanceof BrokenProcessPool && /killed by SIGKILL/.test((e as Error).message));
  await assert.rejects(pending, BrokenProcessPool);
  assert.throws(() => fragile.submit(tasks.add, 1, 2), BrokenProcessPool);
  await fragile.shutdown();
  for (const pid of pids) assert.ok(isGone(pid));
});

test('a failing initializer breaks the executor; initargs reach the initializer', async () => {
  const broken = new ProcessPoolExecutor({ maxWorkers: 1, initializer: tasks.failingInitializer });
  await assert.rejects(broken.submit(tasks.add, 1, 2), BrokenProcessPool);
  await broken.shutdown();
  await using greeter = new ProcessPoolExecutor({ maxWorkers: 1, initializer: tasks.setGreeting, initargs: ['hi'] });
  assert.equal(await greeter.submit(tasks.greet, 'ann'), 'hi ann');
});

test('shutdown({ cancelFutures }) cancels queued calls; later submits throw', async () => {
  const ex = new ProcessPoolExecutor({ maxWorkers: 1, maxTasksPerChild: 2 });
  const pids = new Set([await ex.submit(tasks.pid), await ex.submit(tasks.pid), await ex.submit(tasks.pid)]);
  assert.equal(pids.size, 2);
  const running = ex.submit(tasks.slowDouble, 5);
  // Calls are handed to workers on the next turn of the event loop.
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(running.running(), true);
  const queued = Array.from({ length: 50 }, () => ex.submit(tasks.slowDouble, 1));
  const workers = ex.workerPids;
  await ex.shutdown({ cancelFutures: true });
  assert.equal(await running, 10);
  assert.ok(queued.at(-1)!.cancelled());
  await assert.rejects(queued.at(-1)!, CancelledError);
  assert.throws(() => ex.submit(tasks.add, 1, 2), /cannot schedule new futures after shutdown/);
  for (const pid of workers) assert.ok(isGone(pid));
});

test('the executor shares the pool worker options: worker state, stats, error codes', async () => {
  const { openResource, useResource } = await import('./fixtures/pool-lifecycle.ts');
  await using stateful = new ProcessPoolExecutor({ maxWorkers: 1, initializer: openResource, initargs: ['exec'] });
  const first = await stateful.submit(useResource, 1);
  const second = await stateful.submit(useResource, 2);
  assert.deepEqual([first.label, first.uses, second.uses], ['exec', 1, 2]);
  assert.equal(stateful.stats().tasksCompleted, 2);
  const fragile = new ProcessPoolExecutor({ maxWorkers: 1 });
  await assert.rejects(fragile.submit(tasks.killSelf), (e: unknown) => (e as { code?: string }).code === 'ERR_MP_BROKEN_PROCESS_POOL');
  await fragile.shutdown();
});
