// Several `multiproc worker` processes, as on several machines: one dies, one is stopped, Redis restarts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { ClusterConnectionError, ClusterPool } from '../src/cluster/index.ts';
import { doubleWhenFileExists } from './fixtures/cluster-tasks.ts';
import { isGone } from './support/processes.ts';
import { freshQueue, hasRedisServer, removeQueue, OwnRedis, testRedis, waitFor, WorkerProcess } from './cluster-helpers.ts';

const redis = await testRedis();
const skip = 'skip' in redis ? redis.skip : false;

/** A gate file: tasks of doubleWhenFileExists wait until the test creates it. */
function gate(): { file: string; open(): void; remove(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'mp-cluster-gate-'));
  const file = path.join(dir, 'open');
  return { file, open: () => writeFileSync(file, ''), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

describe('several workers', { skip }, () => {
  let url = '';
  let own: OwnRedis | null = null;
  const workers: WorkerProcess[] = [];

  before(() => {
    ({ url, own } = redis as { url: string; own: OwnRedis | null });
  });

  after(async () => {
    for (const worker of workers) await worker.stop();
    await own?.stop();
  });

  test('a worker SIGKILLed mid-map: its chunks run elsewhere and every result arrives exactly once, in order', async () => {
    const queue = freshQueue('kill');
    const started = await Promise.all([1, 2, 3].map(() => WorkerProcess.start(url, queue, ['--lock-duration', '1000', '--concurrency', '2'])));
    workers.push(...started);
    const watcher = new Queue(queue, { connection: { url } });
    const pool = new ClusterPool({ connection: url, queue });
    const door = gate();
    try {
      const items = Array.from({ length: 24 }, (_, i) => i);
      let done = 0;
      const mapped = pool.starmap(doubleWhenFileExists, items.map((x) => [x, door.file] as [number, string]), {
        chunksize: 2,
        onProgress: (count) => (done = count),
      });
      // Every worker holds two chunks, stuck at the gate; then one machine dies.
      await waitFor(async () => (await watcher.getActiveCount()) === 6, 'all 3 workers to hold 2 chunks each');
      const victim = started[0];
      victim.child.kill('SIGKILL');
      assert.equal((await victim.exited).signal, 'SIGKILL');
      door.open();
      assert.deepEqual(await mapped, items.map((x) => x * 2));
      assert.equal(done, items.length);
      // The dead worker's pool processes do not outlive it.
      await waitFor(() => victim.poolPids.every(isGone), `pool processes ${victim.poolPids} of the killed worker to exit`);
    } finally {
      door.remove();
      pool.close();
      await pool.join();
      await watcher.close();
      // Stopped first: a running worker would write its queue's keys again.
      for (const worker of started) await worker.stop();
      await removeQueue(url, queue);
    }
  });

  test('a SIGTERMed worker hands its jobs back to the queue and exits 0', async () => {
    const queue = freshQueue('term');
    const first = await WorkerProcess.start(url, queue, ['--grace', '0', '--concurrency', '2']);
    workers.push(first);
    const watcher = new Queue(queue, { connection: { url } });
    const pool = new ClusterPool({ connection: url, queue });
    const door = gate();
    try {
      const items = [1, 2, 3, 4];
      const mapped = pool.starmap(doubleWhenFileExists, items.map((x) => [x, door.file] as [number, string]), { chunksize: 1 });
      await waitFor(async () => (await watcher.getActiveCount()) === 2, 'the worker to hold 2 chunks');
      first.child.kill('SIGTERM');
      assert.equal((await first.exited).code, 0, first.output);
      assert.match(first.output, /returned=2/);
      // Back in the queue, not waiting for a stall check: all 4 chunks wait for a worker.
      assert.equal(await watcher.getActiveCount(), 0);
      assert.equal(await watcher.getWaitingCount(), 4);
      const second = await WorkerProcess.start(url, queue);
      workers.push(second);
      door.open();
      assert.deepEqual(await mapped, [2, 4, 6, 8]);
    } finally {
      door.remove();
      pool.close();
      await pool.join();
      await watcher.close();
      for (const worker of workers) await worker.stop();
      await removeQueue(url, queue);
    }
  });
});

describe('Redis restarting mid-map', { skip: hasRedisServer ? false : 'redis-server is not installed: the restart needs a Redis of the test\'s own' }, () => {
  test('the map resumes: jobs Redis lost are added again', async () => {
    const server = await OwnRedis.start();
    const worker = await WorkerProcess.start(server.url, freshQueue('restart'), []);
    const queue = /queue=(\S+)/.exec(worker.output)![1];
    const pool = new ClusterPool({ connection: server.url, queue, connectTimeout: 30_000 });
    const watcher = new Queue(queue, { connection: { url: server.url } });
    watcher.on('error', () => {});
    const door = gate();
    try {
      const items = Array.from({ length: 6 }, (_, i) => i);
      const mapped = pool.starmap(doubleWhenFileExists, items.map((x) => [x, door.file] as [number, string]), { chunksize: 1 });
      await waitFor(async () => (await watcher.getActiveCount()) >= 1, 'the worker to take a chunk');
      await server.stop();
      await server.start();
      door.open();
      assert.deepEqual(await mapped, items.map((x) => x * 2));
    } finally {
      door.remove();
      pool.close();
      await pool.join();
      await watcher.close();
      await worker.stop();
      await server.stop();
    }
  });

  test('Redis gone for longer than connectTimeout: the map fails with ClusterConnectionError', async () => {
    const server = await OwnRedis.start();
    const worker = await WorkerProcess.start(server.url, freshQueue('gone'), []);
    const queue = /queue=(\S+)/.exec(worker.output)![1];
    const pool = new ClusterPool({ connection: server.url, queue, connectTimeout: 1000 });
    const watcher = new Queue(queue, { connection: { url: server.url } });
    watcher.on('error', () => {});
    const door = gate();
    try {
      const mapped = pool.starmap(doubleWhenFileExists, [[1, door.file]], { chunksize: 1 });
      await waitFor(async () => (await watcher.getActiveCount()) === 1, 'the worker to take the chunk');
      await watcher.close();
      await server.stop();
      await assert.rejects(mapped, (error: unknown) => {
        assert.ok(error instanceof ClusterConnectionError, String(error));
        assert.match(error.message, /cannot reach Redis at 127\.0\.0\.1:\d+ for \d+ ms \(connectTimeout 1000 ms\)/);
        return true;
      });
    } finally {
      door.remove();
      pool.close();
      await pool.join();
      await worker.stop();
    }
  });
});
