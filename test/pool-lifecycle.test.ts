// Worker state, finalizer, memory recycling, idle exit and the reusable pool, with real workers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { getReusablePool, Pool } from '../src/index.ts';
import * as tasks from './fixtures/pool-lifecycle.ts';
import { isGone } from './support/processes.ts';

/** Polls (generous bound) until `check` holds; fails saying what it waited for. */
async function waitFor(what: string, check: () => boolean, boundMs = 30_000): Promise<void> {
  const deadline = Date.now() + boundMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`gave up after ${boundMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test("the initializer's result is each worker's state, read by tasks through workerState()", async () => {
  await using pool = new Pool({ processes: 2, initializer: tasks.openResource, initargs: ['db'] });
  const results = await pool.map(tasks.useResource, [1, 2, 3, 4, 5, 6], { chunksize: 1 });
  for (const result of results) {
    assert.equal(result.label, 'db');
    assert.ok(pool.workerPids.includes(result.pid), 'the state was made in the worker that ran the task');
  }
  // The state persists across tasks in one worker: its use counts add up to the tasks it ran.
  const perWorker = new Map<number, number>();
  for (const result of results) perWorker.set(result.pid, Math.max(perWorker.get(result.pid) ?? 0, result.uses));
  assert.equal([...perWorker.values()].reduce((a, b) => a + b, 0), 6);
});

test('workerState() without an initializer fails the task, saying why', async () => {
  await using pool = new Pool({ processes: 1 });
  await assert.rejects(pool.apply(tasks.readStateOutsideInitializer), /no worker state here/);
});

test('the finalizer runs with the worker state when a worker retires (close, maxTasksPerChild)', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'mp-pool-final-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  process.env.POOL_TEST_DIR = dir;
  const pool = new Pool({
    processes: 2,
    initializer: tasks.openResource,
    initargs: ['fin'],
    finalizer: tasks.recordFinalState,
    maxTasksPerChild: 3,
  });
  const results = await pool.map(tasks.useResource, [1, 2, 3, 4, 5, 6, 7, 8], { chunksize: 1 });
  pool.close();
  await pool.join();
  const workers = new Set(results.map((r) => r.pid));
  const finals = readdirSync(dir).filter((name) => name.startsWith('final-'));
  assert.deepEqual(new Set(finals.map((name) => Number(name.slice(6)))), workers, 'every worker that ran tasks ran the finalizer');
  let uses = 0;
  for (const name of finals) {
    const state = JSON.parse(readFileSync(path.join(dir, name), 'utf8'));
    assert.equal(state.label, 'fin');
    uses += state.uses;
  }
  assert.equal(uses, 8, 'the finalizer saw the state the tasks left');
  // 8 tasks at 3 per worker: at least 3 workers, so the first two were replaced.
  assert.ok(workers.size >= 3);
  assert.ok(pool.stats().workerRestarts >= 1);
});

test('maxMemoryPerChild recycles a worker whose memory passes the limit, between tasks', async () => {
  // The limit sits 64 MiB above what a fresh worker uses on this Node version.
  const probe = new Pool({ processes: 1 });
  const baseline = await probe.apply(tasks.rssBytes);
  probe.terminate();
  await probe.join();
  await using pool = new Pool({ processes: 1, maxMemoryPerChild: baseline + 64 * 1024 * 1024 });
  const first = await pool.apply(tasks.allocate, [1]);
  assert.equal(await pool.apply(tasks.pid), first, 'a worker under the limit is kept');
  // 100 MiB held by the task pushes the worker past the limit: it finishes, then is replaced.
  assert.equal(await pool.apply(tasks.allocate, [100]), first);
  await waitFor('the bloated worker to exit', () => isGone(first));
  const next = await pool.apply(tasks.pid);
  assert.notEqual(next, first);
  assert.equal(pool.stats().workerRestarts, 1);
});

test('idleTimeout: idle workers exit, and come back when work arrives', async () => {
  await using pool = new Pool({ processes: 2, idleTimeout: 200 });
  const first = await pool.map(tasks.pid, [1, 2, 3, 4], { chunksize: 1 });
  const pids = [...new Set(first)];
  await waitFor('idle workers to exit', () => pool.workerPids.length === 0 && pids.every(isGone));
  assert.equal(pool.processes, 2);
  assert.equal(await pool.apply(tasks.square, [7]), 49);
  assert.equal(pool.workerPids.length, 2, 'the pool is back to full size');
  assert.equal(pool.stats().workerRestarts, 0, 'idle exits are not restarts');
});

test('getReusablePool returns the same warm pool, resized to each call, and replaces a terminated one', async () => {
  const pool = getReusablePool({ processes: 2 });
  try {
    const warm = pool.workerPids;
    assert.equal(warm.length, 2);
    assert.equal(getReusablePool({ processes: 2 }), pool);
    assert.deepEqual(pool.workerPids, warm, 'no new workers for the same size');
    assert.equal(getReusablePool({ processes: 3 }), pool);
    assert.equal(pool.processes, 3);
    await pool.map(tasks.square, [1, 2, 3, 4, 5, 6], { chunksize: 1 });
    assert.equal(pool.workerPids.length, 3, 'grown to 3 workers');
    assert.ok(warm.every((pid) => pool.workerPids.includes(pid)), 'the warm workers were kept');
    assert.equal(getReusablePool({ processes: 1 }), pool);
    await waitFor('the pool to shrink to one worker', () => pool.workerPids.length === 1);
    assert.equal(await pool.apply(tasks.square, [5]), 25);
    assert.throws(() => getReusablePool({ processes: 0 }), /processes/);
    assert.throws(() => getReusablePool({ idleTimeout: -1 }), /idleTimeout/);
  } finally {
    pool.terminate();
    await pool.join();
  }
  const fresh = getReusablePool({ processes: 1, idleTimeout: 100 });
  assert.notEqual(fresh, pool);
  const pid = await fresh.apply(tasks.pid);
  await waitFor('the reusable pool\'s idle worker to exit', () => isGone(pid));
  fresh.terminate();
  await fresh.join();
});

test('worker options are checked in the caller', () => {
  assert.throws(() => new Pool({ finalizer: 5 as never }), /'finalizer' must be a function/);
  assert.throws(() => new Pool({ maxMemoryPerChild: 0 }), /'maxMemoryPerChild' must be a positive integer/);
  assert.throws(() => new Pool({ idleTimeout: -5 }), /'idleTimeout' must be a finite number/);
  assert.throws(() => new Pool({ maxQueue: 1.5 }), /'maxQueue' must be a positive integer/);
});
