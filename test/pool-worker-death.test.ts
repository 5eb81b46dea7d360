// Issue 12 item 2: a pool worker's death fails only the task it was running;
// what it merely held (prefetched) goes back to the queue and runs elsewhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BrokenProcessPool, Pool, WorkerDiedError } from '../src/index.ts';
import * as tasks from './fixtures/pool-lifecycle.ts';
import { isGone } from './support/processes.ts';

function scratchDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'mp-pool-death-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function withPool<T>(use: (pool: Pool) => Promise<T>, options = {}): Promise<T> {
  const pool = new Pool({ processes: 2, ...options });
  try {
    return await use(pool);
  } finally {
    const pids = pool.workerPids;
    pool.terminate();
    await pool.join();
    for (const pid of pids) assert.ok(isGone(pid), `worker ${pid} outlived its pool`);
  }
}

/** Polls (generous bound) until `check` holds; fails saying what it waited for. */
async function waitFor(what: string, check: () => boolean, boundMs = 30_000): Promise<void> {
  const deadline = Date.now() + boundMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`gave up after ${boundMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function ran(dir: string, items: number[]): number[] {
  return items.filter((x) => existsSync(path.join(dir, String(x))));
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

test('apply: a task that exits its worker fails alone; tasks queued behind it run on another worker', async (t) => {
  const dir = scratchDir(t);
  await withPool(async (pool) => {
    const outcomes = await Promise.allSettled(range(6).map((x) => pool.apply(tasks.markOrExit, [{ dir, x, exitOn: 3 }])));
    const values = outcomes.map((o) => (o.status === 'fulfilled' ? o.value : o.reason));
    assert.deepEqual(values.filter((_, i) => i !== 3), [0, 10, 20, 40, 50]);
    assert.ok(values[3] instanceof WorkerDiedError, `task 3 should fail with WorkerDiedError, got ${values[3]}`);
    assert.match(values[3].message, /exited with code 3 while running the task/);
    assert.equal(values[3].code, 'ERR_MP_WORKER_DIED');
    assert.equal(values[3].exitCode, 3);
  });
});

test('map: only the chunk that was running fails; the dead worker\'s other chunks run elsewhere', async (t) => {
  const dir = scratchDir(t);
  await withPool(async (pool) => {
    const items = range(12).map((x) => ({ dir, x, exitOn: 3 }));
    await assert.rejects(pool.map(tasks.markOrExit, items, { chunksize: 2 }), WorkerDiedError);
    // Chunk [2, 3] died at 3 (2 had run); every other chunk ran, although some were sent to the dying worker.
    assert.deepEqual(ran(dir, range(12)), range(12).filter((x) => x !== 3));
    assert.equal(pool.stats().tasksFailed, 1);
  });
});

test('imapUnordered: the items held by a worker that exits still run and yield', async (t) => {
  const dir = scratchDir(t);
  await withPool(async (pool) => {
    const iterator = pool.imapUnordered(tasks.markOrExit, range(10).map((x) => ({ dir, x, exitOn: 3 })));
    // The first next() submits everything; the rest is consumed after the work is done.
    const first = iterator.next();
    const others = range(10).filter((x) => x !== 3);
    await waitFor('every item but 3 to leave its marker', () => ran(dir, others).length === others.length);
    const yielded: number[] = [];
    let error: unknown = null;
    try {
      const step = await first;
      if (!step.done) yielded.push(step.value);
      for await (const value of iterator) yielded.push(value);
    } catch (caught) {
      error = caught;
    }
    assert.ok(error instanceof WorkerDiedError, `imapUnordered should raise the dead task's WorkerDiedError, got ${error}`);
    for (const value of yielded) assert.ok(others.map((x) => x * 10).includes(value));
  });
});

test('a worker SIGKILLed from outside fails only the task it was running', async (t) => {
  const dir = scratchDir(t);
  await withPool(async (pool) => {
    const hung = pool.apply(tasks.reportPidAndHang, [dir]);
    hung.catch(() => {});
    const rest = range(6).map((x) => pool.apply(tasks.markOrExit, [{ dir, x, exitOn: -1 }]));
    const pidFile = path.join(dir, 'pid');
    await waitFor('the hanging task to report its pid', () => existsSync(pidFile) && readFileSync(pidFile, 'utf8') !== '');
    const victim = Number(readFileSync(pidFile, 'utf8'));
    process.kill(victim, 'SIGKILL');
    await assert.rejects(hung, (e: unknown) => {
      assert.ok(e instanceof WorkerDiedError);
      assert.match(e.message, /killed by SIGKILL/);
      return true;
    });
    assert.deepEqual(await Promise.all(rest), [0, 10, 20, 30, 40, 50]);
    assert.equal(pool.stats().workerRestarts, 1);
  });
});

test('imapUnordered with chunks: a worker SIGKILLed from outside loses only its running chunk', async (t) => {
  const dir = scratchDir(t);
  await withPool(async (pool) => {
    const hung = pool.apply(tasks.reportPidAndHang, [dir]);
    hung.catch(() => {});
    const results: number[] = [];
    const consumed = (async () => {
      for await (const value of pool.imapUnordered(tasks.markOrExit, range(20).map((x) => ({ dir, x, exitOn: -1 })), { chunksize: 3 })) {
        results.push(value);
      }
    })();
    const pidFile = path.join(dir, 'pid');
    await waitFor('the hanging task to report its pid', () => existsSync(pidFile) && readFileSync(pidFile, 'utf8') !== '');
    process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGKILL');
    await assert.rejects(hung, WorkerDiedError);
    await consumed;
    assert.deepEqual(results.sort((a, b) => a - b), range(20).map((x) => x * 10));
  });
});

test('a worker that dies in its initializer breaks the pool instead of being restarted forever', async () => {
  await withPool(async (pool) => {
    await assert.rejects(pool.apply(tasks.square, [2]), (e: unknown) => {
      assert.ok(e instanceof BrokenProcessPool);
      assert.match(e.message, /exited with code 5 in its initializer/);
      return true;
    });
  }, { initializer: tasks.exitInInitializer });
});
