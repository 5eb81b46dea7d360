// ClusterPool against real `multiproc worker` processes on a real Redis (see cluster-helpers.ts for which one).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ClusterChunkKilledWorkerError,
  ClusterConnectionError,
  ClusterFunctionNotAllowedError,
  ClusterPool,
} from '../src/cluster/index.ts';
import { add, dieAlways, double, failOn, QuotaError, slowDouble, structured } from './fixtures/cluster-tasks.ts';
import { notAllowed } from './fixtures/cluster-other-tasks.ts';
import { freePort, freshQueue, removeQueue, testRedis, WorkerProcess, type OwnRedis } from './cluster-helpers.ts';

const redis = await testRedis();
const skip = 'skip' in redis ? redis.skip : false;

describe('ClusterPool', { skip }, () => {
  let url = '';
  let own: OwnRedis | null = null;
  let queue = '';
  let worker: WorkerProcess;
  let pool: ClusterPool;

  before(async () => {
    ({ url, own } = redis as { url: string; own: OwnRedis | null });
    queue = freshQueue('api');
    worker = await WorkerProcess.start(url, queue, ['--processes', '2']);
    pool = new ClusterPool({ connection: url, queue, attempts: 2 });
  });

  after(async () => {
    pool.close();
    await pool.join();
    await worker.stop();
    await removeQueue(url, queue);
    await own?.stop();
  });

  test('map, starmap, apply, applyAsync return what the local Pool would', async () => {
    const items = Array.from({ length: 500 }, (_, i) => i);
    assert.deepEqual(await pool.map(double, items), items.map((x) => x * 2));
    assert.deepEqual(await pool.map(double, items, { chunksize: 7 }), items.map((x) => x * 2));
    assert.deepEqual(await pool.map(double, []), []);
    assert.deepEqual(await pool.starmap(add, [[1, 2], [3, 4]]), [3, 7]);
    assert.equal(await pool.apply(add, [5, 6]), 11);
    let called: number | null = null;
    const result = pool.applyAsync(add, [1, 1], { callback: (value) => (called = value) });
    assert.equal(await result.get(30_000), 2);
    assert.equal(called, 2);
    assert.equal(result.successful(), true);
  });

  test('values keep their structured-clone types (Map, BigInt, Date)', async () => {
    const [value] = await pool.map(structured, [5]);
    assert.deepEqual(value, { map: new Map([['x', 5n]]), when: new Date(5) });
  });

  test('imap yields in order, imapUnordered yields every result', async () => {
    const ordered: number[] = [];
    for await (const value of pool.imap(double, [1, 2, 3, 4, 5], { chunksize: 2 })) ordered.push(value);
    assert.deepEqual(ordered, [2, 4, 6, 8, 10]);
    const unordered: number[] = [];
    for await (const value of pool.imapUnordered(double, new Set([1, 2, 3]))) unordered.push(value);
    assert.deepEqual(unordered.sort(), [2, 4, 6]);
  });

  test('imap reads its input with bounded look-ahead', async () => {
    const lookahead = 4;
    const bounded = new ClusterPool({ connection: url, queue, lookahead });
    let pulled = 0;
    let maxAhead = 0;
    let consumed = 0;
    function* endless() {
      for (let i = 0; ; i++) {
        pulled++;
        maxAhead = Math.max(maxAhead, pulled - consumed);
        yield i;
      }
    }
    for await (const value of bounded.imap(double, endless())) {
      assert.equal(value, consumed * 2);
      if (++consumed === 40) break;
    }
    // One chunk per item: at most `lookahead` chunks out, plus the one being read.
    assert.ok(maxAhead <= lookahead + 1, `read ${maxAhead} items ahead of the consumer, expected at most ${lookahead + 1}`);
    bounded.close();
    await bounded.join();
  });

  test('progress from workers reaches onProgress, ending at the total', async () => {
    const seen: Array<[number, number | null]> = [];
    const items = Array.from({ length: 40 }, (_, i) => i);
    await pool.map(slowDouble, items, { chunksize: 20, onProgress: (done, total) => seen.push([done, total]) });
    assert.deepEqual(seen.at(-1), [40, 40]);
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i][0] > seen[i - 1][0], `progress went from ${seen[i - 1][0]} to ${seen[i][0]}`);
    // 20-item chunks on 2 processes: reports come per piece of a chunk, not only per chunk.
    assert.ok(seen.some(([done]) => done % 20 !== 0), `expected progress within chunks, got ${JSON.stringify(seen)}`);
  });

  test('imap and imapUnordered report progress as chunks complete, total null for an input of unknown length', async () => {
    const seen: Array<[number, number | null]> = [];
    const results: number[] = [];
    for await (const value of pool.imap(double, [1, 2, 3, 4, 5, 6], { chunksize: 2, onProgress: (done, total) => seen.push([done, total]) })) results.push(value);
    assert.deepEqual(results, [2, 4, 6, 8, 10, 12]);
    assert.deepEqual(seen.at(-1), [6, 6]);
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i][0] > seen[i - 1][0], `progress went from ${seen[i - 1][0]} to ${seen[i][0]}`);
    function* numbers() {
      for (let i = 0; i < 5; i++) yield i;
    }
    const unordered: Array<[number, number | null]> = [];
    for await (const _ of pool.imapUnordered(double, numbers(), { onProgress: (done, total) => unordered.push([done, total]) }));
    assert.deepEqual(unordered.map(([done]) => done), [1, 2, 3, 4, 5]);
    assert.ok(unordered.every(([, total]) => total === null));
  });

  test('progress: true prints progress lines on stderr, as the local Pool does', async () => {
    const written: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((chunk: string | Uint8Array) => (written.push(String(chunk)), true)) as typeof process.stderr.write;
    try {
      await pool.map(double, Array.from({ length: 40 }, (_, i) => i), { chunksize: 4, progress: true });
      for await (const _ of pool.imap(double, [1, 2, 3], { progress: true }));
    } finally {
      process.stderr.write = write;
    }
    const text = written.join('');
    assert.match(text, /map: 40\/40 items \(100%\)/);
    assert.match(text, /imap: 3\/3 items \(100%\)/);
    await assert.rejects(pool.map(double, [1], { progress: 'yes' as unknown as boolean }), /progress must be a boolean/);
  });

  test('a task error keeps its class name, message, fields and remote stack', async () => {
    const error = await pool.map(failOn, [1, 2, 3, 4]).then(
      () => assert.fail('expected the map to reject'),
      (e: unknown) => e as QuotaError,
    );
    assert.equal(error.constructor.name, 'QuotaError');
    assert.equal(error.name, 'QuotaError');
    assert.equal(error.message, 'item 3 is over quota');
    assert.equal(error.limit, 2);
    assert.match(String((error.cause as Error).stack), /at failOn .*cluster-tasks\.ts/);
  });

  test('a task over its timeout rejects with TimeoutError and the worker goes on', async () => {
    await assert.rejects(pool.apply(slowDouble, [1, 60_000], { timeout: 200 }), (error: unknown) => {
      assert.equal((error as Error).constructor.name, 'TimeoutError');
      return true;
    });
    assert.equal(await pool.apply(add, [3, 3]), 6);
  });

  test('a function from a module the worker was not started with is refused', async () => {
    await assert.rejects(pool.apply(notAllowed, [1]), (error: unknown) => {
      assert.ok(error instanceof ClusterFunctionNotAllowedError);
      assert.equal(error.code, 'ERR_MP_CLUSTER_FUNCTION_NOT_ALLOWED');
      assert.match(error.message, /cluster-other-tasks\.ts.*not started with/);
      return true;
    });
  });

  test('a function that is not exported fails in the caller', async () => {
    const local = (x: number) => x;
    await assert.rejects(pool.map(local, [1]), /is not exported from .*cluster\.test\.ts/);
  });

  test('a chunk that keeps killing its worker process fails after `attempts`, saying so', async () => {
    await assert.rejects(pool.apply(dieAlways, []), (error: unknown) => {
      assert.ok(error instanceof ClusterChunkKilledWorkerError, String(error));
      assert.equal(error.code, 'ERR_MP_CLUSTER_CHUNK_KILLED_WORKER');
      assert.match(error.message, /killed the worker process running it 2 times \(attempts: 2\).*exited with code 7/);
      return true;
    });
    // The worker replaced its pool process and goes on.
    assert.equal(await pool.apply(add, [2, 2]), 4);
  });

  test('arguments are checked in the caller, naming what is wrong', async () => {
    assert.throws(() => new ClusterPool({ connection: 'http://x', queue: 'q' }), /'connection' must be a redis:\/\/ or rediss:\/\/ URL/);
    assert.throws(() => new ClusterPool({ connection: url, queue: '' }), /'queue' must be a non-empty string/);
    assert.throws(() => new ClusterPool({ connection: url, queue: 'q', attempts: 0 }), /'attempts' must be a positive integer/);
    // As with Pool, the promise-returning methods reject and the others throw.
    await assert.rejects(pool.map(double, [1], { chunksize: 0 }), /chunksize/);
    await assert.rejects(pool.map(double, 5 as never), /items must be an iterable/);
    assert.throws(() => pool.imap(double, 5 as never), /items must be an iterable/);
    await assert.rejects(pool.apply(double, 5 as never), /args must be an array/);
    assert.throws(() => pool.applyAsync(double, [1], { timeout: 'x' as never }), /timeout must be a number of milliseconds/);
  });

  test('abort withdraws a call; terminate fails the calls in progress; join closes', async () => {
    const other = new ClusterPool({ connection: url, queue });
    const controller = new AbortController();
    const aborted = other.map(slowDouble, Array.from({ length: 100 }, (_, i) => i), { chunksize: 1, signal: controller.signal });
    controller.abort(new Error('stop now'));
    await assert.rejects(aborted, /stop now/);
    const pending = other.map(slowDouble, Array.from({ length: 100 }, (_, i) => i), { chunksize: 1 });
    other.terminate();
    await assert.rejects(pending, /terminated/);
    await other.join();
    await assert.rejects(other.map(double, [1]), /not running/);
  });

  test('await using terminates and joins', async () => {
    {
      await using scoped = new ClusterPool({ connection: url, queue });
      assert.deepEqual(await scoped.map(double, [1, 2]), [2, 4]);
    }
  });
});

describe('ClusterPool without Redis', () => {
  test('an unreachable Redis fails the call with ClusterConnectionError within connectTimeout', async () => {
    const port = await freePort();
    const pool = new ClusterPool({ connection: `redis://127.0.0.1:${port}`, queue: 'nowhere', connectTimeout: 500 });
    const start = Date.now();
    await assert.rejects(pool.map(double, [1]), (error: unknown) => {
      assert.ok(error instanceof ClusterConnectionError, String(error));
      assert.equal(error.code, 'ERR_MP_CLUSTER_CONNECTION');
      assert.match(error.message, new RegExp(`cannot reach Redis at 127\\.0\\.0\\.1:${port}`));
      return true;
    });
    // Generous: the bound is the timeout plus scheduling on a loaded machine, far from ioredis's endless retry.
    assert.ok(Date.now() - start < 10_000, `took ${Date.now() - start} ms`);
    pool.close();
    await pool.join();
  });

  test('the worker command reports an unreachable Redis and exits 1', async () => {
    const port = await freePort();
    const worker = await WorkerProcess.spawn(
      ['--connection', `redis://127.0.0.1:${port}`, '--queue', 'q', '--module', 'test/fixtures/cluster-tasks.ts', '--connect-timeout', '500'],
      false,
    );
    assert.equal((await worker.exited).code, 1);
    assert.match(worker.output, new RegExp(`cannot start: cannot reach Redis at 127\\.0\\.0\\.1:${port}`));
  });

  test('the worker command names bad arguments and exits 2', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--module', 'test/fixtures/cluster-tasks.ts'], /--queue is required/],
      [['--queue', 'q'], /--module is required/],
      [['--queue', 'q', '--module', 'nope.ts'], /--module nope\.ts: no such file/],
      [['--queue', 'q', '--module', 'test/fixtures/cluster-tasks.ts', '--processes', 'two'], /--processes must be an integer/],
      [['--queue', 'q', '--bogus'], /Unknown option '--bogus'/],
    ];
    for (const [args, expected] of cases) {
      const worker = await WorkerProcess.spawn(args, false);
      assert.equal((await worker.exited).code, 2, args.join(' '));
      assert.match(worker.output, expected);
      assert.match(worker.output, /usage: multiproc worker/);
    }
  });
});
