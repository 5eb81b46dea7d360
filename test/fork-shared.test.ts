// Shareable objects held in globals reach forked children through the
// snapshot and re-attach to the same memory there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getContext, Lock, Queue, Value } from '../src/index.ts';
import { incrementInheritedCounter } from './fixtures/fork-shared.ts';

test('a Value, a Lock and a Queue in globals are shared with forked children', async () => {
  globalThis.forkCounter = new Value('i', 0, { lock: false });
  globalThis.forkLock = new Lock();
  globalThis.forkQueue = new Queue<string>();
  const fork = getContext('fork');
  const children = [0, 1].map(() => new fork.Process({ target: incrementInheritedCounter, args: [500] }));
  for (const child of children) child.start();
  const reports = [await globalThis.forkQueue.get(), await globalThis.forkQueue.get()];
  await Promise.all(children.map((child) => child.join()));
  assert.deepEqual(children.map((c) => c.exitCode), [0, 0]);
  assert.equal(globalThis.forkCounter.value, 1000);
  assert.deepEqual(reports.sort(), children.map((c) => `done ${c.pid}`).sort());
  globalThis.forkQueue.close();
  delete globalThis.forkCounter;
  delete globalThis.forkLock;
  delete globalThis.forkQueue;
});

test('spawn children do not get them: the global is absent there', async () => {
  globalThis.forkCounter = new Value('i', 0);
  globalThis.forkLock = new Lock();
  globalThis.forkQueue = new Queue<string>();
  const p = new (getContext('spawn').Process)({ target: incrementInheritedCounter, args: [1] });
  p.start();
  await p.join();
  assert.equal(p.exitCode, 1);
  assert.equal(globalThis.forkCounter.value, 0);
  globalThis.forkQueue.close();
  delete globalThis.forkCounter;
  delete globalThis.forkLock;
  delete globalThis.forkQueue;
});
