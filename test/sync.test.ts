import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runChild, startChild } from './sync-helpers.ts';
import {
  AcquireTimeoutError, Barrier, BoundedSemaphore, BrokenBarrierError, Condition, Event, Lock, RLock, Semaphore, SharedArray, Value,
} from '../src/index.ts';

test('Lock: Python semantics in one process', async () => {
  const lock = new Lock();
  assert.equal(await lock.acquire(), true);
  assert.equal(lock.locked, true);
  assert.equal(await lock.acquire({ timeout: 10 }), false);
  assert.equal(lock.acquireSync({ block: false }), false);
  assert.equal(lock.acquireSync({ timeout: 0 }), false);
  lock.release();
  assert.throws(() => lock.release(), /cannot release un-acquired lock/);
  assert.throws(() => lock.acquireSync({ timeout: NaN }), /Lock.acquireSync: options.timeout must be a number of milliseconds/);
  assert.throws(() => lock.acquireSync('1' as never), /Lock.acquireSync: the wait argument must be a timeout in milliseconds or an object/);
  await assert.rejects(lock.acquire({ signal: 'x' as never }), /options.signal must be an AbortSignal/);
});

test('Lock: helpers hold/holdSync/run/runSync release however the scope ends', async () => {
  const lock = new Lock();
  {
    await using held = await lock.hold();
    assert.equal(lock.locked, true);
    held.release();
    held.release(); // idempotent
    assert.equal(lock.locked, false);
  }
  {
    using _held = lock.holdSync();
    assert.equal(lock.locked, true);
  }
  assert.equal(lock.locked, false);
  assert.equal(await lock.run(async () => lock.locked), true);
  await assert.rejects(lock.run(() => Promise.reject(new Error('boom'))), /boom/);
  assert.equal(lock.locked, false);
  assert.equal(lock.runSync(() => 7), 7);
  lock.acquireSync();
  assert.throws(() => lock.holdSync({ block: false }), AcquireTimeoutError);
  lock.release();
});

test('Lock: an aborted async acquire rejects and leaves the lock usable', async () => {
  const lock = new Lock();
  lock.acquireSync();
  const controller = new AbortController();
  const pending = lock.acquire({ signal: controller.signal });
  controller.abort(new Error('gave up'));
  await assert.rejects(pending, /gave up/);
  const waiter = lock.acquire();
  lock.release();
  assert.equal(await waiter, true);
  lock.release();
});

test('RLock: re-entry, and release by a non-owner throws (here and in another process)', async () => {
  const rlock = new RLock();
  assert.equal(rlock.acquireSync(), true);
  assert.equal(await rlock.acquire(), true);
  assert.equal(rlock.depth, 2);
  const child = await runChild('releaseForeign', { lock: rlock });
  assert.equal(child.code, 0, child.stderr);
  assert.equal(child.stdout.trim(), 'error: cannot release un-acquired lock');
  rlock.release();
  rlock.release();
  assert.throws(() => rlock.release(), /cannot release un-acquired lock/);
});

test('RLock: 2 processes and this one increment a Value under its lock exactly', async () => {
  // The default lock is an RLock, so `.value` (which locks too) works while holding it.
  const value = new Value('i', 0);
  const children = [runChild('incrementSync', { value, n: 20_000 }), runChild('incrementAsync', { value, n: 5_000 })];
  const lock = value.getLock();
  for (let i = 0; i < 5_000; i++) {
    await lock.acquire();
    value.value += 1;
    lock.release();
  }
  for (const child of await Promise.all(children)) assert.equal(child.code, 0, child.stderr);
  assert.equal(value.value, 30_000);
});

test('Lock: a waiter in another process is woken by release', async () => {
  const lock = new Lock();
  lock.acquireSync();
  const child = startChild('lockWaiter', { lock });
  assert.equal(await child.line(), 'waiting');
  lock.release();
  assert.equal(await child.line(), 'acquired true died false');
  assert.equal((await child.done).code, 0);
});

for (const make of [() => new Lock(), () => new RLock()]) {
  test(`${make().constructor.name}: an owner killed while holding does not deadlock; the next owner learns it died`, async () => {
    const lock = make();
    const child = startChild('lockAndDie', { lock });
    assert.equal(await child.line(), 'holding');
    assert.equal((await child.done).signal, 'SIGKILL');
    assert.equal(lock.locked, true);
    assert.equal(await lock.acquire({ timeout: 10_000 }), true);
    assert.equal(lock.ownerDied, true);
    lock.release();
    assert.equal(lock.acquireSync(), true);
    assert.equal(lock.ownerDied, false);
    lock.release();
  });
}

test('Lock: a sync waiter also recovers a lock whose owner died', async () => {
  const lock = new Lock();
  const child = startChild('lockAndDie', { lock });
  assert.equal(await child.line(), 'holding');
  await child.done;
  assert.equal(lock.acquireSync({ timeout: 10_000 }), true);
  assert.equal(lock.ownerDied, true);
  lock.release();
});

test('Semaphore: counting, timeouts, value, and a slot of a killed holder comes back', async () => {
  const sem = new Semaphore(2);
  assert.equal(sem.value, 2);
  const child = startChild('semaphoreAndDie', { sem });
  assert.equal(await child.line(), 'holding');
  await child.done;
  assert.equal(sem.value, 1);
  assert.equal(sem.acquireSync(), true);
  assert.equal(sem.acquireSync({ block: false }), false);
  // The dead child's slot is returned to a waiter.
  assert.equal(await sem.acquire({ timeout: 10_000 }), true);
  assert.equal(sem.ownerDied, true);
  sem.release();
  sem.release();
  assert.equal(sem.value, 2);
  assert.throws(() => new Semaphore(-1), /value must be an integer in \[0, /);
});

test('BoundedSemaphore: releasing too often throws; Semaphore does not', () => {
  const bounded = new BoundedSemaphore(1);
  bounded.acquireSync();
  bounded.release();
  assert.throws(() => bounded.release(), /BoundedSemaphore released too many times/);
  const plain = new Semaphore(0);
  plain.release();
  assert.equal(plain.value, 1);
});

test('Event: set wakes a waiter in another process; wait times out; clear', async () => {
  const event = new Event();
  assert.equal(event.isSet(), false);
  assert.equal(await event.wait({ timeout: 5 }), false);
  assert.equal(event.waitSync({ timeout: 5 }), false);
  const child = startChild('waitEvent', { event });
  assert.equal(await child.line(), 'waiting');
  event.set();
  assert.equal(await child.line(), 'event true');
  assert.equal(await event.wait(), true);
  event.clear();
  assert.equal(event.isSet(), false);
});

test('Condition: wait without the lock throws; notify without the lock throws', async () => {
  const cond = new Condition(new Lock());
  await assert.rejects(cond.wait(), /cannot wait on un-acquired lock/);
  assert.throws(() => cond.waitSync(), /cannot wait on un-acquired lock/);
  assert.throws(() => cond.notify(), /cannot notify on un-acquired lock/);
  assert.throws(() => new Condition({} as never), /lock must be a Lock or an RLock/);
  cond.acquireSync();
  assert.equal(cond.waitSync({ timeout: 5 }), false);
  assert.equal(await cond.wait({ timeout: 5 }), false);
  cond.release();
});

test('Condition: waitFor across processes with notifyAll', async () => {
  const cond = new Condition();
  const array = new SharedArray('i', 2);
  const child = startChild('conditionWorker', { cond, array });
  assert.equal(await child.line(), 'waiting');
  await cond.run(() => {
    array[0] = 1;
    cond.notifyAll();
  });
  await cond.acquire();
  assert.equal(await cond.waitFor(() => array[1] === 2, { timeout: 30_000 }), true);
  cond.release();
  assert.equal(await child.line(), 'condition true');
});

test('Condition: notify(n) wakes at most n waiters', async () => {
  // A Lock, not an RLock: the three waiters are async tasks of one thread.
  const cond = new Condition(new Lock());
  let entered = 0;
  const waiters = [0, 1, 2].map(async () => {
    await cond.acquire();
    entered++;
    const notified = await cond.wait({ timeout: 2_000 });
    cond.release();
    return notified;
  });
  for (;;) {
    await cond.acquire();
    if (entered === 3) break;
    cond.release();
    await new Promise((resolve) => setImmediate(resolve));
  }
  cond.notify(2);
  cond.release();
  const results = await Promise.all(waiters);
  assert.equal(results.filter(Boolean).length, 2);
});

test('Condition: a waiter arriving after notifyAll does not steal the notification', async () => {
  const cond = new Condition(new Lock());
  await cond.acquire();
  const early = cond.wait({ timeout: 10_000 }).then((notified) => {
    cond.release();
    return notified;
  });
  // `early` has released the lock inside wait(); notify it, then wait ourselves.
  await cond.acquire();
  cond.notifyAll();
  assert.equal(await cond.wait({ timeout: 20 }), false);
  cond.release();
  assert.equal(await early, true);
});

test('Barrier: indexes 0..parties-1 across processes, then reusable', async () => {
  const barrier = new Barrier(3);
  assert.equal(barrier.parties, 3);
  const children = [startChild('barrierWait', { barrier }), startChild('barrierWait', { barrier })];
  const mine = await barrier.wait({ timeout: 30_000 });
  const lines = await Promise.all(children.map((c) => c.line()));
  const indexes = [mine, ...lines.map((l) => Number(l.split(' ')[1]))].sort();
  assert.deepEqual(indexes, [0, 1, 2]);
  assert.equal(barrier.broken, false);
  assert.equal(barrier.nWaiting, 0);
});

test('Barrier: abort, timeout and reset break it with BrokenBarrierError', async () => {
  const barrier = new Barrier(2);
  const child = startChild('barrierExpectBroken', { barrier });
  assert.equal(await child.line(), 'waiting');
  barrier.abort();
  assert.equal(await child.line(), 'BrokenBarrierError');
  assert.equal(barrier.broken, true);
  await assert.rejects(barrier.wait(), BrokenBarrierError);
  barrier.reset();
  assert.equal(barrier.broken, false);
  await assert.rejects(barrier.wait({ timeout: 5 }), BrokenBarrierError);
  assert.equal(barrier.broken, true);
  barrier.reset();
  const both = await Promise.all([barrier.wait(), barrier.wait()]);
  assert.deepEqual(both.sort(), [0, 1]);
  assert.throws(() => new Barrier(0), /parties must be an integer >= 1/);
});
