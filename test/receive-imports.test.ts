// issue 11: a receiver that awaits Queue.get() or Connection.recv() imports
// the module of a class or function it has never loaded, as unpickling does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getContext, Pipe, Queue } from '../src/index.ts';
import { lateMessage } from './fixtures/late-definitions.ts';
import { receiveLate, receiveLateSync } from './fixtures/late-receiver.ts';

async function receiveThree(method: 'spawn' | 'fork' | 'forkserver'): Promise<string[]> {
  const ctx = getContext(method);
  const queue = new ctx.Queue<ReturnType<typeof lateMessage>>();
  const results = new ctx.Queue<string>();
  const [childEnd, parentEnd] = Pipe();
  const child = new ctx.Process({ target: receiveLate, args: [queue, childEnd, results] });
  child.start();
  await queue.put(lateMessage(1));
  parentEnd.send(lateMessage(2));
  await queue.put(lateMessage(3));
  const seen = [await results.get(), await results.get(), await results.get()];
  await child.join();
  assert.equal(child.exitCode, 0);
  for (const q of [queue, results]) q.close();
  for (const c of [childEnd, parentEnd]) c.close();
  return seen;
}

for (const method of ['spawn', 'fork'] as const) {
  test(`an awaited get() and recv() import the module of an unloaded class and function (${method})`, async () => {
  // The third arrives through getSync: once the module is loaded, a sync receive finds it too.
  assert.deepEqual(await receiveThree(method), [
    'queue: receipt 1 / label 3',
    'pipe: receipt 2 / label 3',
    'sync: receipt 3 / label 3',
  ]);
  });
}

test('a forkserver child under tsx refuses the import with a clear error instead of hanging (loader hooks need a thread it lacks)', async () => {
  const seen = await receiveThree('forkserver');
  for (const [i, what] of ['queue', 'pipe'].entries()) {
    assert.match(seen[i]!, new RegExp(`^${what} failed: cannot import .*late-definitions\\.ts here: .*setForkserverPreload`));
  }
  assert.match(seen[2]!, /^sync failed: an instance of class Receipt/);
});

test('getSync() cannot import: a message naming an unloaded class fails there, naming the class and what to do', async () => {
  const queue = new Queue<ReturnType<typeof lateMessage>>();
  const results = new Queue<string>();
  const child = new (getContext('spawn').Process)({ target: receiveLateSync, args: [queue, results] });
  child.start();
  await queue.put(lateMessage(4));
  const outcome = await results.get();
  await child.join();
  assert.equal(child.exitCode, 0);
  assert.match(outcome, /^sync failed: an instance of class Receipt \(.*late-definitions\.ts:\d+(:\d+)?\) arrived, but that class is not loaded/);
  for (const q of [queue, results]) q.close();
});
