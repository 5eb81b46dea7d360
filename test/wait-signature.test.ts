// One wait signature: every blocking call takes a number of ms or { timeout, block, signal };
// a negative timeout means "do not wait"; { block: false, timeout } ignores the timeout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Barrier, BoundedSemaphore, BrokenBarrierError, BrokenProcessPool, Condition, Empty, Event, Full, JoinableQueue, Lock,
  Pipe, Pool, Process, ProcessPoolExecutor, Queue, RLock, Semaphore, TimeoutError, Value,
} from '../src/index.ts';
import { sleepForever } from './fixtures/targets.ts';
import * as poolTasks from './fixtures/pool-tasks.ts';
import { getEmpty, tryHeld, waitEventNumber } from './fixtures/wait-targets.ts';

test('Event: wait(50) and waitSync(50) take a number; a negative number does not wait', async () => {
  const event = new Event();
  assert.equal(await event.wait(5), false);
  assert.equal(event.waitSync(5), false);
  assert.equal(await event.wait(-1), false);
  assert.equal(event.waitSync({ timeout: -1 }), false);
  assert.equal(await event.wait({ block: false, timeout: 60_000 }), false);
  event.set();
  assert.equal(await event.wait(50), true);
  assert.equal(event.waitSync(-1), true);
  await assert.rejects(event.wait('50' as never), /Event.wait: the wait argument must be a timeout in milliseconds/);
});

test('Lock, RLock, Semaphore: block: false with a timeout returns false at once; negative timeouts do not wait', async () => {
  for (const make of [() => new Lock(), () => new Semaphore(1), () => new BoundedSemaphore(1)]) {
    const primitive = make();
    assert.equal(await primitive.acquire(-1), true, `${primitive.constructor.name}: free, a negative timeout still takes it`);
    assert.equal(primitive.acquireSync({ block: false, timeout: 60_000 }), false);
    assert.equal(await primitive.acquire({ block: false, timeout: 60_000 }), false);
    assert.equal(await primitive.acquire(-1), false);
    assert.equal(primitive.acquireSync(-100), false);
    assert.equal(await primitive.acquire(5), false);
    // The former spelling still works.
    assert.equal(primitive.acquireSync({ blocking: false }), false);
    primitive.release();
  }
  const rlock = new RLock();
  assert.equal(rlock.acquireSync(-1), true);
  assert.equal(await rlock.acquire({ block: false, timeout: 60_000 }), true, 're-entering never waits');
  rlock.release();
  rlock.release();
});

test('Condition and Barrier take a number too', async () => {
  const condition = new Condition(new Lock());
  await condition.acquire();
  assert.equal(await condition.acquire({ block: false, timeout: 60_000 }), false, 'Condition.acquire: block: false ignores the timeout');
  assert.equal(condition.acquireSync(-1), false);
  assert.equal(await condition.wait(5), false);
  assert.equal(condition.waitSync(-1), false);
  assert.equal(await condition.waitFor(() => 0, -1), 0);
  condition.release();
  const barrier = new Barrier(2);
  await assert.rejects(barrier.wait(-1), BrokenBarrierError);
});

test('Queue and JoinableQueue: a number is the timeout; block: false ignores it; negative does not wait', async () => {
  const q = new Queue({ maxsize: 1 });
  await assert.rejects(q.get(5), Empty);
  assert.throws(() => q.getSync({ block: false, timeout: 60_000 }), Empty);
  await assert.rejects(q.get(-1), Empty);
  await q.put(1, -1);
  await assert.rejects(q.put(2, { block: false, timeout: 60_000 }), Full);
  assert.throws(() => q.putSync(2, -1), Full);
  assert.throws(() => q.putSync(2, 5), Full);
  assert.equal(q.getSync(-1), 1);
  q.close();
  const jq = new JoinableQueue();
  await jq.put('task');
  assert.equal(await jq.join(-1), false);
  assert.equal(jq.joinSync(5), false);
  await jq.get();
  jq.taskDone();
  assert.equal(await jq.join(-1), true);
  jq.close();
});

test('Connection.poll: a number, options with a signal, and a negative timeout', async () => {
  const [a, b] = Pipe();
  assert.equal(await a.poll(-1), false);
  assert.equal(a.pollSync({ timeout: 5 }), false);
  const controller = new AbortController();
  const polling = a.poll({ timeout: 60_000, signal: controller.signal });
  controller.abort(new Error('stop polling'));
  await assert.rejects(polling, /stop polling/);
  b.send(1);
  assert.equal(await a.poll({ block: false, timeout: 60_000 }), true);
  a.close();
  b.close();
});

test('in a child: event.waitSync(ms) wakes when the parent sets the event', async () => {
  const event = new Event();
  const result = new Value('i', 0);
  const child = new Process({ target: waitEventNumber, args: [{ event, result }] });
  child.start();
  event.set();
  await child.join();
  assert.equal(child.exitCode, 0);
  assert.equal(result.value, 1);
});

test('in a child: block: false with a timeout, and negative timeouts, return false at once on held primitives', async () => {
  const lock = new Lock();
  const rlock = new RLock();
  const sem = new Semaphore(1);
  const bounded = new BoundedSemaphore(1);
  const condition = new Condition();
  for (const primitive of [lock, rlock, sem, bounded, condition]) await primitive.acquire();
  const result = new Value('i', -1);
  const child = new Process({ target: tryHeld, args: [{ lock, rlock, sem, bounded, condition, result }] });
  child.start();
  // The child would wait 60 s on any try that honoured its timeout; the join bound says it did not.
  await child.join(30_000);
  assert.equal(child.exitCode, 0, 'the child returned from every try without waiting for its timeout');
  assert.equal(result.value, 10, 'Lock, RLock, Semaphore, BoundedSemaphore and Condition each refused twice');
  for (const primitive of [lock, rlock, sem, bounded, condition]) primitive.release();
});

test('in a child: Queue.get with { block: false, timeout } and with a negative number throws Empty at once', async () => {
  const queue = new Queue();
  const result = new Value('i', -1);
  const child = new Process({ target: getEmpty, args: [{ queue, result }] });
  child.start();
  await child.join(30_000);
  assert.equal(child.exitCode, 0, 'the child did not wait for its timeouts');
  assert.equal(result.value, 2);
  queue.close();
});

test('join, AsyncResult.wait/get and Future.result/exception take the same wait argument: a number, { timeout }, { block: false }, { signal }', async () => {
  const child = new Process({ target: sleepForever });
  child.start();
  await child.join({ timeout: 5 });
  await child.join({ block: false, timeout: 60_000 });
  assert.equal(child.exitCode, null, 'neither join waited for an exit');
  const stopJoin = new AbortController();
  const joining = child.join({ signal: stopJoin.signal });
  stopJoin.abort(new Error('stop joining'));
  await assert.rejects(joining, /stop joining/);
  child.kill();
  await child.join({ timeout: null });
  assert.equal(child.exitCode, -9);

  const pool = new Pool({ processes: 1 });
  const stopTask = new AbortController();
  const stuck = pool.applyAsync(poolTasks.sleepForever, [], { signal: stopTask.signal });
  await stuck.wait({ timeout: 5 });
  assert.equal(stuck.ready(), false);
  await assert.rejects(stuck.get({ block: false, timeout: 60_000 }), TimeoutError);
  const stopGet = new AbortController();
  const getting = stuck.get({ signal: stopGet.signal });
  stopGet.abort(new Error('stop getting'));
  await assert.rejects(getting, /stop getting/);
  stopTask.abort(new Error('stop the task'));
  await assert.rejects(stuck.get(), /stop the task/);
  pool.terminate();
  await pool.join();

  const executor = new ProcessPoolExecutor({ maxWorkers: 1 });
  const running = executor.submit(poolTasks.sleepForever);
  await assert.rejects(running.result({ timeout: 5 }), TimeoutError);
  await assert.rejects(running.exception({ block: false, timeout: 60_000 }), TimeoutError);
  const stopResult = new AbortController();
  const waiting = running.result({ signal: stopResult.signal });
  stopResult.abort(new Error('stop waiting'));
  await assert.rejects(waiting, /stop waiting/);
  for (const pid of executor.workerPids) process.kill(pid, 'SIGKILL');
  assert.ok((await running.exception({ timeout: null })) instanceof BrokenProcessPool);
  await executor.shutdown();
});
