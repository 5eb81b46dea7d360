// How many jobs a `multiproc worker` holds (src/cluster/prefetch.ts), with a clock of the test's own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { concurrencyFor, MAX_PER_PROCESS, MIN_PER_PROCESS, Prefetch } from '../src/cluster/prefetch.ts';

function harness(processes: number) {
  let now = 1000;
  const applied: number[] = [];
  const prefetch = new Prefetch(processes, (c) => applied.push(c), () => now);
  /** Runs `jobs` jobs back to back, each taking `ms` of a process, `processes` at a time, with `gap` ms between. */
  const run = (jobs: number, ms: number, gap = 0) => {
    for (let i = 0; i < jobs; i += processes) {
      for (let p = 0; p < processes; p++) prefetch.started();
      now += ms;
      for (let p = 0; p < processes; p++) prefetch.finished();
      now += gap;
    }
  };
  return { prefetch, applied, run, idle: (ms: number) => (now += ms) };
}

test('concurrencyFor: 2 per process for long chunks, up to the maximum for tiny ones', () => {
  assert.equal(concurrencyFor(4, 1000), 4 * MIN_PER_PROCESS);
  assert.equal(concurrencyFor(4, 10), 4 * 3);
  assert.equal(concurrencyFor(4, 0.1), 4 * MAX_PER_PROCESS);
  assert.equal(concurrencyFor(1, 0), MAX_PER_PROCESS);
});

test('a worker starts holding 2 per process and holds more once its chunks prove tiny', () => {
  const { prefetch, applied, run } = harness(2);
  assert.equal(prefetch.concurrency, 2 * MIN_PER_PROCESS);
  // A Redis round trip between jobs with none held: counted as job time, which still says "hold more".
  run(400, 0.1, 0.4);
  assert.equal(prefetch.concurrency, 2 * MAX_PER_PROCESS);
  assert.deepEqual(applied, [2 * MAX_PER_PROCESS]);
});

test('long chunks bring it back to 2 per process; after idleness it starts low again', () => {
  const { prefetch, applied, run, idle } = harness(1);
  run(1000, 0.1);
  assert.equal(prefetch.concurrency, MAX_PER_PROCESS);
  run(2, 100);
  assert.equal(prefetch.concurrency, MIN_PER_PROCESS);
  run(1000, 0.1);
  assert.equal(prefetch.concurrency, MAX_PER_PROCESS);
  idle(1000);
  // The next call's chunks may be long: the worker must not grab many before it knows.
  run(1, 0.1);
  assert.equal(applied.at(-1), MIN_PER_PROCESS);
});
