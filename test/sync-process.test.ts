// The shared objects passed as Process arguments (targets live in a fixture module).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { incrementSync, incrementAsync, lockAndDie, barrierWait } from './fixtures/sync-modes.ts';
import { Process, Value, Lock, Barrier, SharedArray } from '../src/index.ts';

test('Process arguments: a Value incremented by two children under its lock adds up', async () => {
  const value = new Value('i', 0);
  const children = [
    new Process({ target: incrementSync, args: [{ value, n: 10_000 }] }),
    new Process({ target: incrementAsync, args: [{ value, n: 10_000 }] }),
  ];
  for (const child of children) child.start();
  for (const child of children) await child.join();
  assert.deepEqual(children.map((c) => c.exitCode), [0, 0]);
  assert.equal(value.value, 20_000);
});

test('Process arguments: a Lock held by a child that dies is recovered by the parent', async () => {
  const lock = new Lock();
  const child = new Process({ target: lockAndDie, args: [{ lock }] });
  child.start();
  await child.join();
  assert.notEqual(child.exitCode, 0);
  assert.equal(await lock.acquire({ timeout: 10_000 }), true);
  assert.equal(lock.ownerDied, true);
  lock.release();
});

test('Process arguments: a Barrier and a SharedArray reach children', async () => {
  const barrier = new Barrier(3);
  const array = new SharedArray('i', [1, 2, 3]);
  const children = [0, 1].map(() => new Process({ target: barrierWait, args: [{ barrier, array } as never] }));
  for (const child of children) child.start();
  const index = await barrier.wait({ timeout: 30_000 });
  assert.ok(index >= 0 && index < 3);
  for (const child of children) await child.join();
  assert.deepEqual(children.map((c) => c.exitCode), [0, 0]);
});
