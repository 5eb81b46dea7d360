// Issue 12 item 7: wait() / waitSync() (Python's multiprocessing.connection.wait)
// over Connections, queues and processes, and Process.sentinel. Includes ports
// of CPython's TestWait (test_wait, test_wait_timeout, test_wait_integer,
// test_neg_timeout; test_wait_socket is N/A: there are no sockets to wait on).
// "It waited" is shown by order of events, never by durations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import {
  Event,
  EOFError,
  getContext,
  JoinableQueue,
  MultiprocError,
  Pipe,
  Process,
  ProcessNotStartedError,
  ProcessSentinel,
  Queue,
  Semaphore,
  SimpleQueue,
  currentProcess,
  wait,
  waitSync,
  type Connection,
  type StartMethodName,
} from '../src/index.ts';
import { pendingAsyncWaits } from '../src/testing.ts';
import { putWhenTold, sendTen, sendWhenTold, signalThenExit, waitSyncInChild } from './fixtures/connection-wait-targets.ts';
import { holdUntilKilled } from './fixtures/pipe-holders-targets.ts';
import { runProgram } from './support/run-program.ts';

const METHODS: StartMethodName[] = ['fork', 'spawn', 'forkserver'];

/** Tracks whether a promise has settled, to show that a wait is still waiting. */
function track<T>(promise: Promise<T>): { promise: Promise<T>; settled: () => boolean } {
  let settled = false;
  const tracked = promise.finally(() => (settled = true));
  return { promise: tracked, settled: () => settled };
}

/** Lets pending callbacks and futex results of this process run. */
const turn = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

for (const method of METHODS) {
  const { Process: ContextProcess } = getContext(method);

  test(`${method}: wait returns exactly the pipes whose child has sent, in the order given`, async () => {
    const pipes = [0, 1, 2].map(() => Pipe({ duplex: false }));
    const readers = pipes.map(([r]) => r);
    const gates = pipes.map(() => new Event());
    const children = pipes.map(([, w], i) => new ContextProcess({ target: sendWhenTold, args: [w, gates[i], i] }));
    children.forEach((p) => p.start());
    try {
      assert.deepEqual(await wait(readers, 0), []);
      const pending = track(wait(readers));
      await turn();
      assert.equal(pending.settled(), false, 'nothing was sent yet, so wait() is still waiting');
      gates[1]!.set();
      assert.deepEqual(await pending.promise, [readers[1]]);
      assert.equal(await readers[1]!.recv(), 1);
      gates[2]!.set();
      gates[0]!.set();
      await Promise.all([children[0]!.join(), children[2]!.join()]);
      // Both have sent and exited; the parent still holds every writer, so readers[1] is not at EOF.
      assert.deepEqual(await wait(readers), [readers[0], readers[2]]);
      assert.deepEqual(waitSync(readers, 0), [readers[0], readers[2]]);
      assert.equal(readers[0]!.recvSync(), 0);
      assert.equal(readers[2]!.recvSync(), 2);
      assert.deepEqual(await wait(readers, 0), []);
      await children[1]!.join();
      pipes[1]![1].close(); // the last writer of readers[1]: EOF is ready
      assert.deepEqual(await wait(readers), [readers[1]]);
      await assert.rejects(readers[1]!.recv(), EOFError);
    } finally {
      for (const [r, w] of pipes) {
        r.close();
        w.close();
      }
      await Promise.all(children.map((p) => p.join()));
    }
  });

  test(`${method}: CPython test_wait: four children send ten messages each, read through wait() until every EOF`, async () => {
    const readers: Connection[] = [];
    const procs: Process[] = [];
    for (let i = 0; i < 4; i++) {
      const [r, w] = Pipe({ duplex: false });
      const p = new ContextProcess({ target: sendTen, args: [w], daemon: true });
      p.start();
      w.close();
      readers.push(r);
      procs.push(p);
    }
    const messages: [number, number][] = [];
    const left = new Set(readers);
    while (left.size > 0) {
      for (const r of await wait(left)) {
        try {
          messages.push((await r.recv()) as [number, number]);
        } catch (error) {
          assert.ok(error instanceof EOFError);
          left.delete(r);
          r.close();
        }
      }
    }
    await Promise.all(procs.map((p) => p.join()));
    const byKey = (a: [number, number], b: [number, number]): number => a[1] - b[1] || a[0] - b[0];
    const expected = procs.flatMap((p) => Array.from({ length: 10 }, (_, i) => [i, p.pid!] as [number, number]));
    assert.deepEqual(messages.sort(byKey), expected.sort(byKey));
  });

  test(`${method}: CPython test_wait_integer: a process and its sentinel are ready once it exited, with exitCode set`, async () => {
    const sem = new Semaphore(0);
    const go = new Event();
    const [a, b] = Pipe();
    const p = new ContextProcess({ target: signalThenExit, args: [sem, go, 3] });
    assert.throws(() => p.sentinel, (e: unknown) => e instanceof ProcessNotStartedError && e.code === 'ERR_MP_PROCESS_NOT_STARTED');
    p.start();
    const sentinel = p.sentinel;
    assert.ok(sentinel instanceof ProcessSentinel);
    assert.equal(p.sentinel, sentinel, 'the same sentinel every time');
    assert.equal(sentinel.pid, p.pid);
    assert.equal(await sem.acquire(60_000), true);
    try {
      assert.deepEqual(await wait([a, sentinel, b], 0), []);
      assert.deepEqual(waitSync([a, p, b], -1), []);
      const pending = track(wait([a, sentinel, b]));
      await turn();
      assert.equal(pending.settled(), false, 'the child runs until told to exit');
      go.set();
      assert.deepEqual(await pending.promise, [sentinel]);
      assert.equal(p.exitCode, 3, 'exitCode is set once wait() reports the process');
      assert.deepEqual(await wait([a, p, b], 20_000), [p], 'the Process itself, as given');
      a.send(null);
      assert.deepEqual(await wait([a, sentinel, b], 20_000), [sentinel, b]);
      b.send(null);
      assert.deepEqual(await wait([a, sentinel, b], 20_000), [a, sentinel, b]);
      assert.deepEqual(waitSync([a, sentinel, b], 20_000), [a, sentinel, b]);
    } finally {
      go.set();
      await p.join();
      a.close();
      b.close();
    }
  });

  test(`${method}: waitSync blocks the parent until a child exits`, async () => {
    const sem = new Semaphore(0);
    const go = new Event();
    const [r, w] = Pipe({ duplex: false });
    const p = new ContextProcess({ target: signalThenExit, args: [sem, go, 0] });
    p.start();
    assert.equal(await sem.acquire(60_000), true);
    assert.deepEqual(waitSync([r, p], 0), []);
    go.set(); // the child exits on its own while this thread is blocked
    assert.deepEqual(waitSync([r, p], 120_000), [p]);
    await p.join(); // the event loop reaps it now
    assert.equal(p.exitCode, 0);
    assert.deepEqual(waitSync([r, p.sentinel]), [p.sentinel]);
    r.close();
    w.close();
  });

  test(`${method}: queues are ready once an item is there`, async () => {
    const plain = new Queue();
    const joinable = new JoinableQueue();
    const simple = new SimpleQueue();
    const go = new Event();
    const p = new ContextProcess({ target: putWhenTold, args: [joinable, go, 'from child'] });
    p.start();
    const queues = [plain, joinable, simple];
    try {
      assert.deepEqual(await wait(queues, 0), []);
      const pending = track(wait(queues));
      await turn();
      assert.equal(pending.settled(), false);
      go.set();
      assert.deepEqual(await pending.promise, [joinable]);
      simple.put('here');
      assert.deepEqual(waitSync(queues), [joinable, simple]);
      assert.equal(await joinable.get(), 'from child');
      joinable.taskDone();
      assert.equal(await simple.get(), 'here');
      assert.deepEqual(await wait([...queues, p]), [p], 'drained queues are not ready; the ended child is');
    } finally {
      go.set();
      await p.join();
      queues.forEach((q) => q.close());
    }
  });

  test(`${method}: waitSync in a child polls, times out, then blocks until the parent sends`, async () => {
    const pipes = [0, 1].map(() => Pipe({ duplex: false }));
    const queue = new Queue();
    const blocking = new Event();
    const tookFirst = new Event();
    const [report, reportW] = Pipe({ duplex: false });
    const p = new ContextProcess({ target: waitSyncInChild, args: [pipes.map(([r]) => r), queue, blocking, tookFirst, reportW] });
    p.start();
    reportW.close();
    try {
      assert.equal(await blocking.wait(120_000), true);
      pipes[1]![1].send('first');
      // Read by the child; then it blocks again, woken by an item on the queue (index 2).
      assert.equal(await tookFirst.wait(120_000), true);
      await queue.put('second');
      assert.deepEqual(await report.recv(), { polled: [], negative: [], timedOut: [], first: [1], second: [2], parentEnded: 0 });
      await p.join();
      assert.equal(p.exitCode, 0);
    } finally {
      for (const [r, w] of pipes) {
        r.close();
        w.close();
      }
      queue.close();
      report.close();
    }
  });
}

test('CPython test_wait_timeout: nothing ready gives [] after the timeout; then the ready end only', async () => {
  const [a, b] = Pipe();
  assert.deepEqual(await wait([a, b], 50), []);
  assert.deepEqual(waitSync([a, b], 50), []);
  assert.deepEqual(await wait([a, b], { timeout: 20 }), []);
  b.send(null);
  assert.deepEqual(await wait([a, b], 20_000), [a]);
  assert.deepEqual(waitSync([a, b], 20_000), [a]);
  a.close();
  b.close();
});

test('CPython test_neg_timeout: a negative timeout, 0 or block: false tests once', async () => {
  const [a, b] = Pipe();
  assert.deepEqual(await wait([a], -1), []);
  assert.deepEqual(waitSync([a], -1), []);
  assert.deepEqual(await wait([a], 0), []);
  assert.deepEqual(await wait([a], { block: false }), []);
  assert.deepEqual(waitSync([a], { block: false, timeout: 60_000 }), [], 'block: false ignores the timeout, as in Python');
  b.send(1);
  assert.deepEqual(await wait([a], -1), [a]);
  assert.deepEqual(waitSync([a], -1), [a]);
  a.close();
  b.close();
});

test('EOF counts as ready, for both forms; a wait in progress sees the last writer close', async () => {
  const [r, w] = Pipe({ duplex: false });
  const pending = track(wait([r]));
  await turn();
  assert.equal(pending.settled(), false);
  w.close();
  assert.deepEqual(await pending.promise, [r]);
  assert.deepEqual(waitSync([r]), [r]);
  assert.throws(() => r.recvSync(), EOFError);
  r.close();
});

test('a pipe whose last writer was SIGKILLed in a child becomes ready (EOF) during a wait, in both forms', async () => {
  const [r, w] = Pipe({ duplex: false });
  const p = new (getContext('spawn').Process)({ target: holdUntilKilled, args: [w] });
  p.start();
  assert.equal(await r.recv(), 'holding');
  w.close();
  assert.deepEqual(await wait([r], 0), [], 'the child still holds the writer');
  const pending = track(wait([r, p.sentinel]));
  await turn();
  assert.equal(pending.settled(), false);
  p.kill();
  const ready = await pending.promise;
  assert.ok(ready.includes(r) || ready.includes(p.sentinel), 'the pipe or the process, whichever is seen first');
  await p.join();
  assert.equal(p.exitCode, -9);
  assert.deepEqual(await wait([r], 60_000), [r], 'EOF is noticed without a message or a close');
  assert.deepEqual(waitSync([r]), [r]);
  await assert.rejects(r.recv(), EOFError);
  r.close();
});

test('a handle closed here during a wait is reported ready (its next call throws at once)', async () => {
  const [r, w] = Pipe({ duplex: false });
  const q = new Queue();
  const pendingQueue = wait([q]);
  await turn();
  q.close();
  assert.deepEqual(await pendingQueue, [q]);
  const pendingPipe = wait([r]);
  await turn();
  r.close();
  assert.deepEqual(await pendingPipe, [r]);
  w.close();
});

test('an abort rejects with the reason; no futex waiter outlives any ending of wait()', async () => {
  const [r1, w1] = Pipe({ duplex: false });
  const [r2, w2] = Pipe({ duplex: false });
  const q = new Queue();
  const objects = [r1, r2, q];
  const before = pendingAsyncWaits();
  const controller = new AbortController();
  const aborted = wait(objects, { signal: controller.signal });
  await turn();
  assert.ok(pendingAsyncWaits() > before, 'the wait sleeps on futex words');
  controller.abort(new Error('stop waiting'));
  await assert.rejects(aborted, /stop waiting/);
  assert.equal(pendingAsyncWaits(), before, 'after an abort');
  await assert.rejects(wait(objects, { signal: AbortSignal.abort(new Error('already')) }), /already/);
  assert.deepEqual(await wait(objects, 10), []);
  assert.equal(pendingAsyncWaits(), before, 'after a timeout');
  const ready = wait(objects);
  await turn();
  w2.send('x');
  assert.deepEqual(await ready, [r2]);
  assert.equal(pendingAsyncWaits(), before, 'after an object became ready');
  for (const c of [r1, w1, r2, w2, q]) c.close();
});

test('a program whose waits ended (ready, timeout, abort) exits by itself', { timeout: 120_000 }, async () => {
  const result = await runProgram(fileURLToPath(new URL('./fixtures/connection-wait-exit.ts', import.meta.url)));
  assert.equal(result.stderr, '');
  assert.equal(result.code, 0);
  assert.deepEqual(JSON.parse(result.stdout), { ready: [3], timedOut: [], aborted: 'TimeoutError' });
});

test('objects may be any iterable; duplicates are reported as given; an empty list returns [] at once', async () => {
  const [a, b] = Pipe();
  b.send(1);
  assert.deepEqual(await wait(new Set([a, b])), [a]);
  assert.deepEqual(waitSync([a, b, a]), [a, a]);
  assert.deepEqual(await wait([]), []);
  assert.deepEqual(waitSync([]), []);
  a.close();
  b.close();
});

test('the sentinel: none before start() or for the current process; ProcessNotStartedError is a MultiprocError', () => {
  const p = new Process({ target: sendTen });
  assert.throws(() => p.sentinel, (e: unknown) => e instanceof ProcessNotStartedError && e instanceof MultiprocError && /not started/.test((e as Error).message));
  assert.throws(() => currentProcess().sentinel, ProcessNotStartedError);
});

test('bad arguments fail in the caller, naming the argument and what was expected', async () => {
  const [r, w] = Pipe({ duplex: false });
  await assert.rejects(wait(5 as never), (e: unknown) => e instanceof TypeError && /^wait: objects must be an array \(or iterable\)/.test(e.message) && /got a number 5/.test(e.message));
  assert.throws(() => waitSync('ab' as never), (e: unknown) => e instanceof TypeError && /waitSync: objects must be/.test(e.message) && /got a string "ab"/.test(e.message));
  assert.throws(() => waitSync(null as never), /waitSync: objects must be .* got null/);
  await assert.rejects(
    wait([r, {} as never]),
    (e: unknown) => e instanceof TypeError && /wait: objects\[1\] must be a readable Connection, a Queue, JoinableQueue or SimpleQueue, a started Process or a Process sentinel, got an object of class Object/.test(e.message),
  );
  assert.throws(() => waitSync([r, r, 7 as never]), /waitSync: objects\[2\] must be .* got a number 7/);
  assert.throws(() => waitSync([w]), /waitSync: objects\[0\] .*cannot be waited on: this connection is write-only/);
  assert.throws(
    () => waitSync([r, new Process({ target: sendTen })]),
    (e: unknown) => e instanceof ProcessNotStartedError && /waitSync: objects\[1\] \(Process-\d+\) has not been started/.test((e as Error).message),
  );
  await assert.rejects(wait([r], 'soon' as never), (e: unknown) => e instanceof TypeError && /wait: the wait argument must be a timeout/.test(e.message));
  assert.throws(() => waitSync([r], NaN), /waitSync: timeout must be a number of milliseconds/);
  await assert.rejects(wait([r], { signal: 'x' as never }), /wait: options.signal must be an AbortSignal/);
  const q = new Queue();
  q.close();
  assert.throws(() => waitSync([q]), /waitSync: objects\[0\] .*cannot be waited on: Queue is closed/);
  r.close();
  assert.throws(() => waitSync([r]), /waitSync: objects\[0\] .*cannot be waited on: the connection is closed/);
  w.close();
});
