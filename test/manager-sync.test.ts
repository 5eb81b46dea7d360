// The manager's synchronisation objects and queues, from async code and
// from synchronous child code; and Process.authkey, their default key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { currentProcess, Empty, Full, Manager, Process, getContext } from '../src/index.ts';
import { readResult, resultPath } from './support/result-files.ts';
import { barrierParty, conditionWaiter, consumeJoinable, reportAuthkey } from './fixtures/manager-targets.ts';

test('Process.authkey: 32 random bytes, inherited by children, settable before start() only', async () => {
  const own = currentProcess().authkey;
  assert.equal(own.length, 32);
  assert.deepEqual(currentProcess().authkey, own, 'stable');
  for (const method of ['fork', 'spawn', 'forkserver'] as const) {
    const out = resultPath();
    const child = new (getContext(method).Process)({ target: reportAuthkey, args: [out] });
    assert.deepEqual(child.authkey, own, 'a handle defaults to the current key');
    child.start();
    await child.join();
    assert.equal(readResult(out), own.toString('hex'), `${method} child inherits it`);
  }
  const out = resultPath();
  const child = new Process({ target: reportAuthkey, args: [out] });
  child.authkey = Buffer.from('a key of my own');
  child.start();
  assert.throws(() => (child.authkey = Buffer.from('late')), /already started/);
  await child.join();
  assert.equal(readResult(out), Buffer.from('a key of my own').toString('hex'));
  assert.throws(() => (child.authkey = 'text' as never), /authkey must be a Buffer/);
});

test('Lock, RLock, Semaphore and BoundedSemaphore behave as Python\'s', async () => {
  await using manager = await Manager();
  const lock = await manager.Lock();
  assert.equal(await lock.acquire(), true);
  assert.equal(await lock.acquire({ block: false }), false);
  assert.equal(await lock.acquire({ timeout: 50 }), false);
  const waiter = lock.acquire();
  await lock.release();
  assert.equal(await waiter, true, 'the waiter got the lock handed over');
  await lock.release();
  await assert.rejects(lock.release(), /release unlocked lock/);

  const rlock = await manager.RLock();
  assert.equal(await rlock.acquire(), true);
  assert.equal(rlock.acquireSync(), true, 're-entrant for this process, on either connection');
  await rlock.release();
  assert.equal(await rlock.locked(), true);
  rlock.releaseSync();
  assert.equal(await rlock.locked(), false);

  const sem = await manager.Semaphore(2);
  assert.equal(await sem.acquire(), true);
  assert.equal(await sem.acquire(), true);
  assert.equal(await sem.acquire({ blocking: false }), false, 'the former spelling of block is still read');
  await sem.release(2);
  assert.equal(await sem.getValue(), 2);
  const bounded = await manager.BoundedSemaphore(1);
  await assert.rejects(bounded.release(), /released too many times/);
  await assert.rejects(manager.Semaphore(-1), /non-negative integer/);
  await assert.rejects(lock.acquire({ timeout: 'soon' as never }), /Lock.acquire: options.timeout must be a number of milliseconds/);
  // A negative timeout does not wait, as in Python: a free lock is taken, a held one is not.
  assert.equal(await lock.acquire({ timeout: -5 }), true);
  assert.equal(await lock.acquire({ timeout: -5 }), false);
  await lock.release();
  assert.equal(await sem.acquire({ timeout: -1 }), true, 'a free permit is still taken');
  await sem.release();
  const q = await manager.Queue();
  await assert.rejects(q.get({ timeout: -1 }), Empty);
});

test('Event, Condition (with a synchronous child) and Barrier', async () => {
  await using manager = await Manager();
  const event = await manager.Event();
  assert.equal(await event.wait({ timeout: 20 }), false);
  const waiting = event.wait();
  await event.set();
  assert.equal(await waiting, true);
  assert.equal(await event.isSet(), true);

  const cond = await manager.Condition();
  const ready = await manager.Event();
  const out = resultPath();
  const child = new Process({ target: conditionWaiter, args: [cond, ready, out] });
  child.start();
  assert.equal(await ready.wait({ timeout: 30_000 }), true);
  await assert.rejects(cond.notify(), /un-acquired lock/);
  await cond.acquire(); // the child gave the lock up while it waits
  await cond.notify();
  await cond.release();
  await child.join();
  assert.equal(child.exitCode, 0);
  assert.deepEqual(readResult(out), { notified: true });
  await cond.acquire();
  assert.equal(await cond.wait({ timeout: 20 }), false, 'nobody notifies: the wait times out');
  await cond.release();

  const barrier = await manager.Barrier(3);
  const outs = [resultPath(), resultPath()];
  const parties = outs.map((o) => new Process({ target: barrierParty, args: [barrier, o] }));
  for (const party of parties) party.start();
  const mine = await barrier.wait({ timeout: 30_000 });
  for (const party of parties) await party.join();
  const indexes = [mine, ...outs.map((o) => readResult(o).index)].sort();
  assert.deepEqual(indexes, [0, 1, 2]);
  await assert.rejects(barrier.wait({ timeout: 20 }), { name: 'BrokenBarrierError' });
  assert.equal(await barrier.isBroken(), true);
  await barrier.reset();
  assert.equal(await barrier.isBroken(), false);
});

test('Queue and JoinableQueue, with Empty and Full as themselves', async () => {
  await using manager = await Manager();
  const q = await manager.Queue<number>(1);
  await q.put(1);
  await assert.rejects(q.put(2, { block: false }), Full);
  await assert.rejects(q.put(2, { timeout: 20 }), Full);
  assert.equal(await q.full(), true);
  assert.equal(await q.get(), 1);
  await assert.rejects(q.getNowait(), Empty);
  assert.throws(() => q.getSync({ timeout: 20 }), Empty);

  const jq = await manager.JoinableQueue<number | null>();
  const results = await manager.list<number>();
  const consumer = new Process({ target: consumeJoinable, args: [jq, results] });
  consumer.start();
  for (let i = 1; i <= 5; i++) await jq.put(i);
  await jq.put(null);
  await jq.join();
  await consumer.join();
  assert.equal(consumer.exitCode, 0);
  assert.deepEqual(await results.toArray(), [2, 4, 6, 8, 10]);
  await assert.rejects(jq.taskDone(), /called too many times/);
});

test('Namespace, Value and Array', async () => {
  await using manager = await Manager();
  const ns = await manager.Namespace({ x: 1 });
  await ns.set('y', 'two');
  assert.deepEqual(await ns.toObject(), { x: 1, y: 'two' });
  await assert.rejects(ns.get('z'), /no attribute 'z'/);
  const v = await manager.Value('i', 5);
  assert.equal(await v.increment(2), 7);
  await assert.rejects(v.set(1.5), /must be an integer/);
  const a = await manager.Array('d', [1, 2, 3]);
  await a.set(-1, 9.5);
  assert.deepEqual(a.toArraySync(), [1, 2, 9.5]);
  await assert.rejects(manager.Value('x', 1), /typecode must be one of/);
});

test('managed objects take the library\'s one wait argument: a number of ms, { timeout, block }; a signal fails in the caller', async () => {
  await using manager = await Manager();
  const lock = await manager.Lock();
  assert.equal(await lock.acquire(50), true, 'a number is the timeout');
  assert.equal(await lock.acquire(5), false);
  assert.equal(await lock.acquire({ block: false, timeout: 60_000 }), false, 'block: false ignores the timeout');
  assert.equal(lock.acquireSync(-1), false);
  await assert.rejects(lock.acquire('soon' as never), /Lock.acquire: the wait argument must be a timeout in milliseconds/);
  await assert.rejects(lock.acquire({ signal: new AbortController().signal } as never), /cannot be sent/);
  await lock.release();
  const sem = await manager.BoundedSemaphore(1);
  assert.equal(await sem.acquire(-1), true);
  assert.equal(await sem.acquire({ block: false, timeout: 60_000 }), false);
  const event = await manager.Event();
  assert.equal(await event.wait(5), false);
  const cond = await manager.Condition();
  await cond.acquire(10);
  assert.equal(await cond.wait(-1), false);
  await cond.release();
  const barrier = await manager.Barrier(2);
  await assert.rejects(barrier.wait(-1), { name: 'BrokenBarrierError' });
  const q = await manager.Queue<number>(1);
  await q.put(1, -1);
  await assert.rejects(q.put(2, { block: false, timeout: 60_000 }), Full);
  assert.equal(q.getSync(5), 1);
  await assert.rejects(q.get(5), Empty);
  const jq = await manager.JoinableQueue<number>();
  await jq.put(1);
  assert.equal(await jq.join(5), false, 'an item not marked done: join times out');
  await jq.get();
  await jq.taskDone();
  assert.equal(await jq.join(-1), true);
});
