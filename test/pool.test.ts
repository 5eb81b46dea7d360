// Pool with real worker processes: results, errors, crashes, timeouts, cancellation, lifecycle.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { Lock, Queue, Value, Pool, getContext } from '../src/index.ts';
import { BrokenProcessPool, MultiprocError, RemoteTraceback, TimeoutError, WorkerDiedError } from '../src/index.ts';
import * as tasks from './fixtures/pool-tasks.ts';
import { resultPath } from './support/result-files.ts';
import { isGone } from './support/processes.ts';


/** Closes (or terminates) and joins, then checks that no worker outlived the pool. */
async function finish(pool: Pool, how: 'close' | 'terminate' = 'close'): Promise<void> {
  const pids = pool.workerPids;
  pool[how]();
  await pool.join();
  for (const pid of pids) assert.ok(isGone(pid), `worker ${pid} outlived its pool`);
}

let pool: Pool;
before(() => {
  pool = new Pool({ processes: 2 });
});
after(async () => {
  await finish(pool);
});

test('apply, applyAsync, map, starmap and their async forms return the results', async () => {
  assert.equal(await pool.apply(tasks.add, [2, 3]), 5);
  assert.equal(await pool.apply(tasks.slowDouble, [21]), 42);
  const called: number[] = [];
  const result = pool.applyAsync(tasks.add, [1, 1], { callback: (value) => called.push(value) });
  assert.equal(await result, 2);
  assert.equal(result.ready(), true);
  assert.equal(result.successful(), true);
  assert.equal(await result.get(0), 2);
  assert.deepEqual(called, [2]);
  assert.deepEqual(await pool.map(tasks.square, [1, 2, 3, 4, 5]), [1, 4, 9, 16, 25]);
  assert.deepEqual(await pool.map(tasks.square, new Set([3, 4]), { chunksize: 1 }), [9, 16]);
  assert.deepEqual(await pool.map(tasks.square, []), []);
  assert.deepEqual(await pool.mapAsync(tasks.slowDouble, [1, 2, 3]), [2, 4, 6]);
  assert.deepEqual(await pool.starmap(tasks.add, [[1, 2], [3, 4]]), [3, 7]);
  const mapped: number[][] = [];
  assert.deepEqual(await pool.starmapAsync(tasks.add, [[5, 5]], { callback: (v) => mapped.push(v) }), [10]);
  assert.deepEqual(mapped, [[10]]);
  assert.deepEqual(await pool.apply(tasks.identity, [{ a: [1, new Map([[1, 2]])], d: new Date(0) }]), {
    a: [1, new Map([[1, 2]])],
    d: new Date(0),
  });
});

test("map's default chunksize is Python's ceil(n / (4 x workers)); progress counts items", async () => {
  const progress: Array<[number, number | null]> = [];
  const squares = await pool.map(tasks.square, Array.from({ length: 100 }, (_, i) => i), {
    onProgress: (done, total) => progress.push([done, total]),
  });
  assert.equal(squares[99], 99 * 99);
  // ceil(100 / 8) = 13 items per chunk: 8 chunks, so 8 progress reports.
  assert.equal(progress.length, 8);
  assert.deepEqual(progress.at(-1), [100, 100]);
  assert.ok(progress.every(([done], i) => i === 0 || done > progress[i - 1][0]));
});

test('shareable objects (a Value, a Queue) travel as task arguments and reach the same memory', async () => {
  const pool = new Pool({ processes: 2 });
  const total = new Value('i', 0);
  const done = new Queue<number>();
  const items = Array.from({ length: 20 }, (_, i) => [total, i + 1, done] as [Value<'i'>, number, Queue<number>]);
  const pids = await pool.starmap(tasks.addShared, items, { chunksize: 1 });
  assert.equal(pids.length, 20);
  assert.equal(total.value, 210);
  const reported: number[] = [];
  for (let i = 0; i < 20; i++) reported.push(await done.get());
  assert.deepEqual(reported.sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => i + 1));
  done.close();
  await finish(pool);
});

test('number chunks travel packed but arrive exactly: -0, NaN, fractions, int32 limits, mixed chunks', async () => {
  const pool = new Pool({ processes: 2 });
  const ints = Array.from({ length: 40 }, (_, i) => (i % 2 ? 2 ** 31 - 1 - i : -(2 ** 31) + i));
  const doubles = [-0, NaN, Infinity, -Infinity, 0.1, 2 ** 53, -(2 ** 31) - 1, 2 ** 31, ...ints.slice(0, 30)];
  const mixed = [...ints.slice(0, 20), 'text', null, 3.5, ...ints.slice(20)];
  for (const items of [ints, doubles, mixed]) {
    const results = await pool.map(tasks.identity, items, { chunksize: 25 });
    assert.ok(Array.isArray(results));
    assert.deepEqual(results, items);
    assert.ok(Object.is(results[items.indexOf(-0)], items.includes(-0) ? -0 : undefined));
  }
  await finish(pool);
});

test('ctx.Pool and ctx.ProcessPoolExecutor start their workers with the context\'s start method', async () => {
  (globalThis as Record<string, unknown>).poolMarker = 'from the parent';
  await using forked = new (getContext('fork').Pool)({ processes: 1 });
  await using spawned = new (getContext('spawn').Pool)({ processes: 1 });
  await using executor = new (getContext('fork').ProcessPoolExecutor)({ maxWorkers: 1 });
  assert.equal(await forked.apply(tasks.readGlobal, ['poolMarker']), 'from the parent');
  assert.equal(await spawned.apply(tasks.readGlobal, ['poolMarker']), null);
  assert.equal(await executor.submit(tasks.readGlobal, 'poolMarker'), 'from the parent');
  assert.equal(getContext('spawn').Lock, Lock);
  delete (globalThis as Record<string, unknown>).poolMarker;
});

test('a task error keeps its class name, message and fields; the remote stack is the cause', async () => {
  const error = await pool.apply(tasks.failOn, [3]).then(
    () => assert.fail('should have thrown'),
    (e: unknown) => e as tasks.ValidationError,
  );
  assert.equal(error.name, 'ValidationError');
  assert.equal(error.constructor.name, 'ValidationError');
  assert.equal(error.message, 'bad item 3');
  assert.equal(error.code, 42);
  assert.equal(error.field, 'x');
  assert.ok(error.cause instanceof RemoteTraceback);
  assert.match(String((error.cause as Error).message), /failOn/);
  await assert.rejects(pool.apply(tasks.failOn, [7]), (e: unknown) => e instanceof RangeError && e.message === 'out of range 7');
  const errors: Error[] = [];
  const result = pool.applyAsync(tasks.failOn, [3], { errorCallback: (e) => errors.push(e) });
  await result.wait();
  assert.equal(result.successful(), false);
  assert.equal(errors[0].name, 'ValidationError');
});

test('map reports the first error only after every chunk has run', async () => {
  let completed = 0;
  await assert.rejects(
    pool.map(tasks.failOn, [1, 2, 3, 4, 5, 6, 7, 8, 9], { chunksize: 1, onProgress: (done) => (completed = done) }),
    /bad item 3|out of range 7/,
  );
  assert.equal(completed, 9);
});

test('imap yields in order, imapUnordered as completed; both report progress', async () => {
  const ordered: number[] = [];
  const progress: Array<number | null> = [];
  for await (const x of pool.imap(tasks.slowDouble, [1, 2, 3, 4, 5], { onProgress: (_, total) => progress.push(total) })) {
    ordered.push(x);
  }
  assert.deepEqual(ordered, [2, 4, 6, 8, 10]);
  assert.deepEqual(progress, [5, 5, 5, 5, 5]);
  const unordered: number[] = [];
  for await (const x of pool.imapUnordered(tasks.square, [1, 2, 3, 4, 5, 6], { chunksize: 2 })) unordered.push(x);
  assert.deepEqual(unordered.sort((a, b) => a - b), [1, 4, 9, 16, 25, 36]);
});

test('imap reads an endless input lazily, with a bounded number of items in flight', async () => {
  let pulled = 0;
  function* naturals() {
    for (let i = 0; ; i++) {
      pulled++;
      yield i;
    }
  }
  const seen: number[] = [];
  for await (const x of pool.imap(tasks.square, naturals(), { chunksize: 3 })) {
    seen.push(x);
    if (seen.length === 1000) break;
  }
  assert.equal(seen[999], 999 * 999);
  // At most the window (66 chunks per worker) beyond what was consumed.
  assert.ok(pulled <= 1000 + 2 * 66 * 3 + 3, `pulled ${pulled} items`);
  async function* slowSource() {
    for (let i = 0; i < 4; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      yield i;
    }
  }
  const fromAsync: number[] = [];
  for await (const x of pool.imap(tasks.square, slowSource())) fromAsync.push(x);
  assert.deepEqual(fromAsync, [0, 1, 4, 9]);
});

test('imap raises a task error at its position', async () => {
  const seen: number[] = [];
  await assert.rejects(async () => {
    for await (const x of pool.imap(tasks.failOn, [1, 2, 3, 4])) seen.push(x);
  }, /bad item 3/);
  assert.deepEqual(seen, [1, 2]);
});

test('a worker that dies mid-task is replaced; the task rejects naming the signal or exit code', async () => {
  const before = pool.workerPids;
  await assert.rejects(pool.apply(tasks.killSelf), (e: unknown) => {
    assert.ok(e instanceof WorkerDiedError);
    assert.match(e.message, /killed by SIGKILL/);
    assert.equal(e.exitCode, -9);
    return true;
  });
  await assert.rejects(pool.apply(tasks.exitDuring, [3]), (e: unknown) => {
    assert.ok(e instanceof WorkerDiedError);
    assert.match(e.message, /exited with code 3/);
    return true;
  });
  // The pool keeps working with fresh workers.
  assert.deepEqual(await pool.map(tasks.square, [1, 2, 3], { chunksize: 1 }), [1, 4, 9]);
  assert.equal(pool.workerPids.length, 2);
  assert.notDeepEqual(pool.workerPids, before);
});

test('a per-task timeout stops a runaway task by replacing its worker', async () => {
  await assert.rejects(pool.apply(tasks.spinForever, [], { timeout: 100 }), (e: unknown) => {
    assert.ok(e instanceof TimeoutError);
    assert.match(e.message, /did not finish within 100 ms/);
    return true;
  });
  assert.equal(await pool.apply(tasks.add, [1, 2]), 3);
});

test('an AbortSignal withdraws a queued task or stops a running one', async () => {
  const aborted = new AbortController();
  aborted.abort(new Error('changed my mind'));
  await assert.rejects(pool.apply(tasks.add, [1, 2], { signal: aborted.signal }), /changed my mind/);
  const controller = new AbortController();
  const running = pool.apply(tasks.sleepForever, [], { signal: controller.signal });
  setImmediate(() => controller.abort());
  await assert.rejects(running, (e: unknown) => (e as Error).name === 'AbortError');
  const withText = new AbortController();
  const stopped = pool.apply(tasks.sleepForever, [], { signal: withText.signal });
  setImmediate(() => withText.abort('no longer needed'));
  await assert.rejects(stopped, (e: unknown) => e instanceof MultiprocError && e.name === 'AbortError' && e.code === 'ERR_MP_ABORTED' && /no longer needed/.test(e.message));
  assert.deepEqual(await pool.map(tasks.square, [2, 3]), [4, 9]);
});

test('unsendable arguments, results and functions fail in the caller, naming the culprit', async () => {
  await assert.rejects(pool.apply(tasks.identity, [() => 1]), /args\[0\] cannot be sent/);
  await assert.rejects(pool.map(tasks.identity, [1, 2, Symbol('x')]), /items\[2\] cannot be sent/);
  await assert.rejects(pool.apply(tasks.returnFunction), /result cannot be sent/);
  // issue 11: a bound module-level function travels, as functools.partial does.
  assert.equal(await pool.apply(tasks.add.bind(null, 1) as typeof tasks.add, [2] as never), 3);
});

test('every entry point validates its arguments and names the bad one', async () => {
  assert.throws(() => new Pool({ processes: 0 }), /processes.*at least 1/);
  assert.throws(() => new Pool({ processes: 1.5 }), /'processes' must be an integer/);
  assert.throws(() => new Pool({ maxTasksPerChild: 0 }), /'maxTasksPerChild' must be a positive integer/);
  assert.throws(() => new Pool({ initializer: 5 as never }), /'initializer' must be a function/);
  assert.throws(() => new Pool({ initargs: 'x' as never }), /'initargs' must be an array/);
  assert.throws(() => new Pool({ context: 'spawn' as never }), /'context' must be a Context/);
  assert.throws(() => new Pool(7 as never), /Pool options must be an object/);
  await assert.rejects(pool.apply(5 as never), /fn must be a function/);
  await assert.rejects(pool.apply(tasks.add, 'ab' as never), /args must be an array/);
  await assert.rejects(pool.map(tasks.square, 5 as never), /items must be an iterable/);
  await assert.rejects(pool.map(tasks.square, [1], { chunksize: 0 }), /chunksize must be a positive integer/);
  await assert.rejects(pool.apply(tasks.add, [1, 2], { timeout: 'x' as never }), /applyAsync: timeout must be a number of milliseconds/);
  await assert.rejects(pool.apply(tasks.add, [1, 2], { signal: {} as never }), /signal must be an AbortSignal/);
  await assert.rejects(pool.starmap(tasks.add, [5 as never]), /items\[0\] must be an argument list/);
  assert.throws(() => pool.applyAsync(tasks.add, [1, 2], { callback: 1 as never }), /callback must be a function/);
  assert.throws(() => pool.imap(tasks.square, 3 as never), /items must be an iterable/);
  await assert.rejects(pool.join(), /Pool is still running/);
  await assert.rejects(pool.applyAsync(tasks.add, [1, 2]).get('x' as never), (e: unknown) => e instanceof TypeError && /AsyncResult.get: the wait argument must be a timeout/.test(e.message));
  await assert.rejects(pool.applyAsync(tasks.add, [1, 2]).wait(NaN), (e: unknown) => e instanceof TypeError && /AsyncResult.wait: timeout must be a number/.test(e.message));
});

test('AsyncResult.get(timeoutMs) rejects with TimeoutError while the task runs', async () => {
  const controller = new AbortController();
  const result = pool.applyAsync(tasks.sleepForever, [], { signal: controller.signal });
  await assert.rejects(result.get(10), TimeoutError);
  assert.equal(result.ready(), false);
  assert.throws(() => result.successful(), /not ready/);
  controller.abort();
  await result.wait();
  assert.equal(result.successful(), false);
});

test('a negative timeout does not wait: AsyncResult.wait(-1) returns at once, get(-1) rejects with TimeoutError', async () => {
  const controller = new AbortController();
  const result = pool.applyAsync(tasks.sleepForever, [], { signal: controller.signal });
  await result.wait(-1);
  assert.equal(result.ready(), false);
  await assert.rejects(result.get(-1), TimeoutError);
  controller.abort();
  await result.wait();
  const done = pool.applyAsync(tasks.add, [1, 2]);
  await done.wait();
  assert.equal(await done.get(-1), 3);
});

test('a negative task timeout times the task out at once', async () => {
  await assert.rejects(pool.apply(tasks.sleepForever, [], { timeout: -1 }), TimeoutError);
  assert.equal(await pool.apply(tasks.add, [1, 2], { timeout: Infinity }), 3);
});

test('initializer and initargs run once in each worker; a failing initializer breaks the pool', async () => {
  const greeter = new Pool({ processes: 1, initializer: tasks.setGreeting, initargs: ['hello'] });
  assert.equal(await greeter.apply(tasks.greet, ['bob']), 'hello bob');
  await finish(greeter);
  const broken = new Pool({ processes: 1, initializer: tasks.failingInitializer });
  await assert.rejects(broken.apply(tasks.add, [1, 2]), (e: unknown) => {
    assert.ok(e instanceof BrokenProcessPool);
    assert.match(e.message, /initializer failed: TypeError: initializer exploded/);
    assert.equal(((e as Error).cause as Error).name, 'TypeError');
    return true;
  });
  await assert.rejects(broken.apply(tasks.add, [1, 2]), BrokenProcessPool);
  await finish(broken, 'terminate');
});

test('maxTasksPerChild replaces a worker after that many tasks', async () => {
  const recycling = new Pool({ processes: 1, maxTasksPerChild: 1 });
  const pids = new Set<number>();
  for (let i = 0; i < 3; i++) pids.add(await recycling.apply(tasks.pid));
  assert.equal(pids.size, 3);
  await finish(recycling);
});

test('close() lets queued work finish; terminate() rejects it; afterwards tasks are refused', async () => {
  const closing = new Pool({ processes: 1, context: getContext('spawn') });
  const out = resultPath();
  const pending = closing.apply(tasks.touch, [out]);
  closing.close();
  assert.equal(await pending, out);
  assert.ok(existsSync(out));
  await assert.rejects(closing.apply(tasks.add, [1, 2]), /Pool not running/);
  await finish(closing);
  const terminating = new Pool({ processes: 1 });
  const running = terminating.apply(tasks.sleepForever);
  const queued = terminating.apply(tasks.add, [1, 2], { timeout: 1 });
  const rejected = Promise.all([assert.rejects(running, /terminated/), assert.rejects(queued, /terminated/)]);
  await finish(terminating, 'terminate');
  await rejected;
});

test('await using terminates and joins the pool', async () => {
  let pids: number[];
  {
    await using scoped = new Pool({ processes: 1 });
    assert.equal(await scoped.apply(tasks.add, [2, 2]), 4);
    pids = scoped.workerPids;
  }
  for (const pid of pids) assert.ok(isGone(pid));
});
