// manager.Pool(): a Pool living in the manager process, used by the parent
// and by a child it was passed to, under every start method; task errors keep
// their class; shutdown fails pending calls at once; nothing leaks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { getContext, ManagerGoneError, RemoteTraceback, TimeoutError, type StartMethodName } from '../src/index.ts';
import { isRunning } from './support/processes.ts';
import { readResult, resultPath } from './support/result-files.ts';
import { add, failOn, makeAdder, never, square, TaskFailure, useManagedPool, whoRuns } from './fixtures/manager-pool-targets.ts';

const METHODS: StartMethodName[] = ['fork', 'spawn', 'forkserver'];

/** Children of `pid`, from /proc. */
function childrenOf(pid: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) found.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

/** Waits (by polling /proc, there being no event to wait on for another process's exit) until `pid` is gone. */
async function gone(pid: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (isRunning(pid)) {
    if (Date.now() > deadline) assert.fail(`process ${pid} still runs`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

for (const method of METHODS) {
  const ctx = getContext(method);

  test(`${method}: a managed pool runs tasks in the manager's workers, for the parent and for a child given its proxy`, async () => {
    await using manager = await ctx.Manager();
    const pool = await manager.Pool({ processes: 2 });
    assert.deepEqual(await pool.map(square, [1, 2, 3]), [1, 4, 9]);
    assert.deepEqual(await pool.starmap(add, [[1, 2], [3, 4]]), [3, 7]);
    const runner = await pool.apply(whoRuns);
    assert.notEqual(runner.pid, process.pid);
    assert.notEqual(runner.pid, manager.pid, 'a worker of the manager, not the manager itself');
    assert.ok(childrenOf(manager.pid!).includes(runner.pid), 'the worker is a child of the manager process');
    const result = await pool.mapAsync(square, [4, 5]);
    assert.deepEqual(await result.get(), [16, 25]);
    assert.equal(await result.ready(), true);
    assert.equal(await result.successful(), true);
    const ordered: number[] = [];
    for await (const value of pool.imap(square, [1, 2, 3, 4, 5])) ordered.push(value);
    assert.deepEqual(ordered, [1, 4, 9, 16, 25]);
    assert.equal(pool.applySync(add, [20, 22]), 42);

    const out = resultPath();
    const child = new ctx.Process({ target: useManagedPool, args: [pool, out] });
    child.start();
    await child.join();
    assert.equal(child.exitCode, 0);
    assert.deepEqual(readResult(out), {
      mapped: [1, 4, 9, 16],
      applied: 5,
      later: 81,
      unordered: [25, 36],
      sync: [2, 4],
      imapped: [49, 64],
      error: { isTaskFailure: true, name: 'TaskFailure', message: 'item 3 refused', item: 3 },
    });
    await pool.close();
    await pool.join();
  });
}

test('a task error reaches the caller with its class, message, fields and the worker stack as cause', async () => {
  await using manager = await getContext('spawn').Manager();
  const pool = await manager.Pool({ processes: 1 });
  await assert.rejects(pool.apply(failOn, [3]), (error: unknown) => {
    assert.ok(error instanceof TaskFailure, `a TaskFailure, got ${String(error)}`);
    assert.equal(error.message, 'item 3 refused');
    assert.equal(error.item, 3);
    assert.ok(error.cause instanceof RemoteTraceback);
    assert.match(String((error.cause as Error).message), /failOn/);
    return true;
  });
  const pending = await pool.applyAsync(failOn, [3]);
  await pending.wait();
  assert.equal(await pending.successful(), false);
  await assert.rejects(pending.get(), TaskFailure);
  assert.throws(() => pool.applySync(failOn, [3]), TaskFailure);
  // The pool's own TimeoutError travels as itself too.
  const stuck = await pool.applyAsync(never, [resultPath()]);
  await assert.rejects(stuck.get(0), TimeoutError);
  await pool.terminate();
});

test('arguments are checked before anything is sent, naming the argument', async () => {
  await using manager = await getContext('spawn').Manager();
  const pool = await manager.Pool({ processes: 1 });
  assert.throws(() => pool.apply(42 as never), /apply.*must be a function/);
  assert.throws(() => pool.map(square, 7 as never), /map: items must be an iterable/);
  assert.throws(() => pool.apply(square, 'x' as never), /apply: args must be an array/);
  assert.throws(() => pool.map(square, [1], { chunksize: 0 }), /chunksize/);
  assert.throws(() => pool.map(square, [1], { signal: AbortSignal.abort() } as never), /option 'signal' is not supported/);
  assert.throws(() => pool.apply(new Function('return 1') as never), /has no module/);
  await assert.rejects(async () => manager.Pool({ processes: 0 }), /processes/);
  await assert.rejects(async () => manager.Pool({ initializer: 'x' as never }), /initializer/);
  // A closure is not found by importing its module, and its source is never sent: the task fails, clearly.
  // (Made in the fixture module: the workers import the closure's module, and importing this test file would run its tests.)
  await assert.rejects(pool.apply(makeAdder(10), [1]), /not found after importing its module.*without its source/s);
  await pool.terminate();
});

test('shutting the manager down fails a pending call at once and stops the pool workers', async () => {
  const manager = await getContext('spawn').Manager();
  const pool = await manager.Pool({ processes: 2 });
  const ready = resultPath();
  const pending = pool.apply(never, [ready]);
  const workers = childrenOf(manager.pid!);
  assert.equal(workers.length, 2);
  // The task is in a worker once its file exists; the worker tells us through the file, not an event we can await.
  const deadline = Date.now() + 20_000;
  while (!existsSync(ready)) {
    if (Date.now() > deadline) assert.fail('the task never started');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const failed = assert.rejects(pending, ManagerGoneError);
  await manager.shutdown();
  await failed;
  await assert.rejects(pool.map(square, [1]), ManagerGoneError);
  assert.throws(() => pool.mapSync(square, [1]), ManagerGoneError);
  for (const pid of workers) await gone(pid);
});

test('a managed pool freed by its last proxy stops its workers', async () => {
  await using manager = await getContext('spawn').Manager();
  const before = await manager.numberOfObjects();
  const pool = await manager.Pool({ processes: 1 });
  const [worker] = childrenOf(manager.pid!);
  assert.equal(await pool.apply(square, [3]), 9);
  pool.dropReference();
  await gone(worker);
  assert.equal(await manager.numberOfObjects(), before);
});

test('the SIGKILLed manager takes its pool workers with it and pending calls fail', async () => {
  const manager = await getContext('fork').Manager();
  const pool = await manager.Pool({ processes: 2 });
  const workers = childrenOf(manager.pid!);
  const ready = resultPath();
  const pending = pool.apply(never, [ready]);
  process.kill(manager.pid!, 'SIGKILL');
  await assert.rejects(pending, ManagerGoneError);
  for (const pid of workers) await gone(pid);
  await manager.shutdown();
});
