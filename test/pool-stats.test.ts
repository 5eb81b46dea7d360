// pool.stats() counts what was done; maxQueue refuses floods with QueueFullError.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pool, ProcessPoolExecutor, QueueFullError } from '../src/index.ts';
import * as tasks from './fixtures/pool-lifecycle.ts';
import * as poolTasks from './fixtures/pool-tasks.ts';

test('stats() counts completed and failed tasks and items, with ordered percentiles', async () => {
  await using pool = new Pool({ processes: 2 });
  const empty = pool.stats();
  assert.equal(empty.tasksCompleted, 0);
  assert.equal(empty.runTime.count, 0);
  assert.equal(empty.workers, 2);
  // 20 items in chunks of 5; item 3 fails its chunk (failOn throws on 3 and 7, both in chunk 0 and 1).
  await assert.rejects(pool.map(poolTasks.failOn, Array.from({ length: 20 }, (_, i) => i), { chunksize: 5 }));
  assert.equal(await pool.apply(tasks.square, [3]), 9);
  await assert.rejects(pool.apply(tasks.fail, ['no']), /no/);
  const stats = pool.stats();
  assert.equal(stats.tasksCompleted, 2 + 1);
  assert.equal(stats.tasksFailed, 2 + 1);
  assert.equal(stats.itemsCompleted, 10 + 1);
  assert.equal(stats.itemsFailed, 10 + 1);
  assert.equal(stats.queued, 0);
  assert.equal(stats.running, 0);
  assert.equal(stats.runTime.count, 6, 'every task that ran has a run time');
  assert.equal(stats.queueWait.count, 6);
  for (const summary of [stats.runTime, stats.queueWait]) {
    assert.ok(summary.p50 > 0 && summary.p50 <= summary.p90 && summary.p90 <= summary.p99 && summary.p99 <= summary.max, JSON.stringify(summary));
  }
  assert.ok(stats.utilization > 0 && stats.utilization <= 1, `utilization ${stats.utilization}`);
  assert.equal(stats.workerRestarts, 0);
});

test('stats() records a run time per task and a utilization share while workers are kept busy', async () => {
  await using pool = new Pool({ processes: 2 });
  // Warm up, then measure over CPU-bound work only.
  await pool.map(tasks.square, [1, 2]);
  await pool.map(poolTasks.burn, Array.from({ length: 40 }, () => 2_000_000), { chunksize: 1 });
  const { utilization, runTime } = pool.stats();
  assert.equal(runTime.count, 2 + 40);
  // A share of the workers' lifetime (start-up counts as idle); no bound on speed, which depends on the machine.
  assert.ok(utilization > 0 && utilization <= 1, `utilization ${utilization}`);
});

test('maxQueue: apply/submit beyond the limit fail at once with QueueFullError; room comes back', async () => {
  await using pool = new Pool({ processes: 1, maxQueue: 2 });
  const accepted = [pool.applyAsync(tasks.square, [1]), pool.applyAsync(tasks.square, [2])];
  assert.throws(
    () => pool.applyAsync(tasks.square, [3]),
    (e: unknown) => e instanceof QueueFullError && e.code === 'ERR_MP_QUEUE_FULL' && /applyAsync: the pool's queue is full \(maxQueue 2/.test(e.message),
  );
  await assert.rejects(pool.apply(tasks.square, [3]), QueueFullError);
  assert.deepEqual(await Promise.all(accepted), [1, 4]);
  assert.equal(await pool.apply(tasks.square, [3]), 9);
  // map and imap are not limited: they bound themselves (map's chunks, imap's window).
  assert.equal((await pool.map(tasks.square, Array.from({ length: 50 }, (_, i) => i), { chunksize: 1 })).length, 50);

  await using executor = new ProcessPoolExecutor({ maxWorkers: 1, maxQueue: 1 });
  const future = executor.submit(tasks.square, 4);
  assert.throws(() => executor.submit(tasks.square, 5), QueueFullError);
  assert.equal(await future, 16);
  assert.equal(executor.stats().tasksCompleted, 1);
});
