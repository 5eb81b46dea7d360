// Issue 12 item 5: a Barrier's action travels with it by reference and runs in whichever process arrives last.
// Item 8: a Value or SharedArray made with lock: false has no lock to give, in a child too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { Barrier, Event, getContext, SharedArray, Value, type StartMethodName } from '../src/index.ts';
import { arriveLast, recordAction, useUnlocked } from './fixtures/barrier-targets.ts';
import { resultPath } from './support/result-files.ts';

// Set before any child (or spare process) starts, so every child inherits it.
const ACTION_FILE = resultPath();
process.env.MULTIPROC_TEST_ACTION_FILE = ACTION_FILE;

for (const method of ['spawn', 'fork', 'forkserver'] as StartMethodName[]) {
  test(`${method}: the action runs once, in the child that arrives last`, async () => {
    writeFileSync(ACTION_FILE, '');
    const barrier = new Barrier(2, { action: recordAction });
    const parentWaiting = new Event();
    const child = new (getContext(method).Process)({ target: arriveLast, args: [{ barrier, parentWaiting }] });
    child.start();
    const waiting = barrier.wait(60_000);
    assert.equal(barrier.nWaiting, 1, 'the parent is counted as waiting before the child is let in');
    parentWaiting.set();
    assert.equal(await waiting, 0);
    await child.join();
    assert.equal(child.exitCode, 0);
    assert.deepEqual(readFileSync(ACTION_FILE, 'utf8').trim().split('\n'), [String(child.pid)]);
  });
}

test('an action that cannot go by reference fails when the barrier is sent, naming it', () => {
  const barrier = new Barrier(2, { action: Math.random });
  assert.throws(() => new (getContext('spawn').Process)({ target: arriveLast, args: [{ barrier, parentWaiting: new Event() }] }).start(), /Barrier action 'random'/);
});

test('options are checked in the caller', () => {
  assert.throws(() => new Barrier(2, { action: 5 as never }), /Barrier: options.action must be a function, got a number 5/);
  assert.throws(() => new Barrier(2, { timeout: 'x' as never }), /Barrier: options.timeout must be a number/);
  assert.throws(() => new Barrier(2, 'x' as never), /Barrier: options must be an options object/);
});

test('Value and SharedArray made with lock: false have no lock to give', () => {
  const raw = new Value('i', 1, { lock: false });
  assert.throws(() => raw.getLock(), /created with lock: false/);
  assert.equal(raw.getObj().value, 1);
});

for (const method of ['spawn', 'fork', 'forkserver'] as StartMethodName[]) {
  test(`${method}: a Value and a SharedArray made with lock: false reach a child still without a lock; getObj() writes through`, async () => {
    const raw = new Value('i', 1, { lock: false });
    const rawArray = new SharedArray('i', 2, { lock: false });
    const result = new Value('i', -1);
    const child = new (getContext(method).Process)({ target: useUnlocked, args: [{ raw, rawArray, result }] });
    child.start();
    await child.join();
    assert.equal(child.exitCode, 0);
    assert.equal(result.value, 2, 'getLock() threw in the child for both');
    assert.equal(raw.value, 7);
    assert.equal(rawArray[0], 8);
  });
}
