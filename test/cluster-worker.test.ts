// What `multiproc worker` promises beyond running jobs: its status line, its locks kept while chunks
// keep its pool busy, and ioredis options (db) on the ClusterPool side.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { ClusterConnectionError, ClusterPool } from '../src/cluster/index.ts';
import { double, spinAndRecord } from './fixtures/cluster-tasks.ts';
import { freshQueue, hasRedisServer, OwnRedis, removeQueue, testRedis, waitFor, WorkerProcess } from './cluster-helpers.ts';

const redis = await testRedis();
const skip = 'skip' in redis ? redis.skip : false;

describe('multiproc worker', { skip }, () => {
  let url = '';
  let own: OwnRedis | null = null;

  before(() => {
    ({ url, own } = redis as { url: string; own: OwnRedis | null });
  });

  after(async () => {
    await own?.stop();
  });

  test('prints a status line every --status-interval', async () => {
    const queue = freshQueue('status');
    const worker = await WorkerProcess.start(url, queue, ['--status-interval', '200']);
    const pool = new ClusterPool({ connection: url, queue });
    try {
      assert.deepEqual(await pool.map(double, [1, 2, 3], { chunksize: 1 }), [2, 4, 6]);
      const line = /^multiproc worker \S+:\d+ queue=(\S+) processes=1 active=\d+ held=\d+ completed=(\d+) .*redis=ready$/gm;
      const last = () => [...worker.output.matchAll(line)].at(-1);
      await waitFor(() => last()?.[2] === '3', 'a status line counting the 3 chunks');
      assert.equal(last()![1], queue);
    } finally {
      pool.close();
      await pool.join();
      await worker.stop();
      await removeQueue(url, queue);
    }
  });

  test('a chunk that keeps its process busy for longer than the lock runs once: the worker keeps renewing its lock', async () => {
    const queue = freshQueue('lock');
    // Two workers: had the busy one lost its lock, the other would have taken the chunk and run it again.
    const workers = await Promise.all([1, 2].map(() => WorkerProcess.start(url, queue, ['--lock-duration', '1000'])));
    const pool = new ClusterPool({ connection: url, queue });
    const runs = mkdtempSync(path.join(tmpdir(), 'mp-cluster-runs-'));
    try {
      assert.equal(await pool.apply(spinAndRecord, [21, 3500, runs]), 42);
      assert.deepEqual(readdirSync(runs).map((name) => name.split('-')[0]), ['21']);
    } finally {
      pool.close();
      await pool.join();
      for (const worker of workers) await worker.stop();
      await removeQueue(url, queue);
      rmSync(runs, { recursive: true, force: true });
    }
  });

  test('a worker holding many tiny chunks is SIGKILLed mid-map: every result still arrives once, in order', async () => {
    const queue = freshQueue('kill-tiny');
    // Default concurrency: with tiny chunks each worker holds many jobs, all of which the dead one loses.
    const workers = await Promise.all([1, 2].map(() => WorkerProcess.start(url, queue, ['--lock-duration', '1000'])));
    const pool = new ClusterPool({ connection: url, queue });
    try {
      const items = Array.from({ length: 3000 }, (_, i) => i);
      let last = 0;
      const results = await pool.map(double, items, {
        chunksize: 1,
        onProgress: (done) => {
          if (last < 300 && done >= 300) workers[0].child.kill('SIGKILL');
          last = done;
        },
      });
      assert.equal((await workers[0].exited).signal, 'SIGKILL');
      assert.deepEqual(results, items.map((x) => x * 2));
      assert.equal(last, items.length);
    } finally {
      pool.close();
      await pool.join();
      for (const worker of workers) await worker.stop();
      await removeQueue(url, queue);
    }
  });

  test('ioredis options select the database (db), as a /N path does for the worker', async () => {
    const queue = freshQueue('db');
    const where = new URL(url);
    const db = 7;
    where.pathname = `/${db}`;
    const worker = await WorkerProcess.start(where.href, queue);
    const pool = new ClusterPool({
      connection: { host: where.hostname, port: Number(where.port || 6379), password: where.password || undefined, db },
      queue,
    });
    const inDb = new Redis(where.href);
    const inDefault = new Redis(url);
    try {
      assert.deepEqual(await pool.map(double, [1, 2], { chunksize: 1 }), [2, 4]);
      assert.ok((await inDb.keys(`bull:${queue}:*`)).length > 0, `no keys of the queue in db ${db}`);
      assert.deepEqual(await inDefault.keys(`bull:${queue}:*`), []);
    } finally {
      pool.close();
      await pool.join();
      await worker.stop();
      await removeQueue(where.href, queue);
      inDb.disconnect();
      inDefault.disconnect();
    }
  });
});

describe('a Redis with a password', { skip: hasRedisServer ? false : "redis-server is not installed: the test needs a Redis of its own with requirepass" }, () => {
  test('ioredis options carry the password; without it the call fails with ClusterConnectionError, naming the cause', async () => {
    const server = await OwnRedis.start('s3cret-pass');
    const queue = freshQueue('auth');
    const worker = await WorkerProcess.start(server.url, queue);
    const pool = new ClusterPool({ connection: { host: '127.0.0.1', port: server.port, password: 's3cret-pass' }, queue });
    const refused = new ClusterPool({ connection: { host: '127.0.0.1', port: server.port }, queue, connectTimeout: 1000 });
    try {
      assert.deepEqual(await pool.map(double, [1, 2, 3], { chunksize: 1 }), [2, 4, 6]);
      await assert.rejects(refused.map(double, [1]), (error: unknown) => {
        assert.ok(error instanceof ClusterConnectionError, String(error));
        assert.match(error.message, /NOAUTH|Authentication required/i);
        return true;
      });
    } finally {
      pool.close();
      refused.close();
      await Promise.all([pool.join(), refused.join()]);
      await worker.stop();
      await server.stop();
    }
  });
});
