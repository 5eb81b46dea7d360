// Zero-copy large arrays: a TypedArray/Buffer argument of 1 MiB or more is
// copied once into shared memory, whatever the number of tasks using it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Pool, ProcessPoolExecutor } from '../src/index.ts';
import * as tasks from './fixtures/pool-lifecycle.ts';
import { runProgram } from './support/run-program.ts';
import { isGone } from './support/processes.ts';

const ownSegments = () => readdirSync('/dev/shm').filter((name) => name.startsWith(`mp-${process.pid}-arg-`));

test('one 64 MiB array given to 10,000 tasks is copied once: one segment, no copy in the worker', async () => {
  const pool = new Pool({ processes: 1 });
  const baseline = await pool.apply(tasks.anonymousKiB);
  const big = new Float64Array(8 * 1024 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = i;
  const seen = await pool.starmap(tasks.inspectArray, Array.from({ length: 10_000 }, (_, i) => [big, i * 800] as [Float64Array, number]));
  for (let i = 0; i < seen.length; i++) {
    assert.deepEqual(seen[i], { shared: true, type: 'Float64Array', byteLength: big.byteLength, value: i * 800 });
  }
  assert.equal((await pool.apply(tasks.inspectArray, [big, 7])).value, 7, 'apply reuses the same copy');
  assert.equal(pool.sharedArgumentSegments.length, 1, 'copied once');
  assert.deepEqual(ownSegments(), pool.sharedArgumentSegments);
  assert.deepEqual(await pool.apply(tasks.mappedArgumentSegments), pool.sharedArgumentSegments, 'the worker maps that very segment');
  const grown = (await pool.apply(tasks.anonymousKiB)) - baseline;
  // A copy would add 65536 KiB; what grows besides is the worker's heap from 10,000 tasks.
  assert.ok(grown < 56 * 1024, `the worker's private memory grew by ${grown} KiB; one copy would be 65536 KiB`);
  pool.close();
  await pool.join();
  assert.deepEqual(ownSegments(), [], 'the segment is unlinked once the pool is joined');
});

test('Buffers, DataViews and other typed arrays arrive as their class; small arrays are copied as before', async () => {
  await using pool = new Pool({ processes: 1 });
  const buffer = Buffer.alloc(2 << 20, 7);
  assert.deepEqual(await pool.apply(tasks.inspectArray, [buffer, 5]), { shared: true, type: 'Buffer', byteLength: 2 << 20, value: 7 });
  const view = new DataView(new ArrayBuffer(1 << 20));
  view.setUint8(3, 9);
  assert.deepEqual(await pool.apply(tasks.inspectArray, [view, 3]), { shared: true, type: 'DataView', byteLength: 1 << 20, value: 9 });
  const slice = new Int32Array(new ArrayBuffer(8 << 20), 4 << 20, 1 << 18).fill(-4);
  assert.deepEqual(await pool.apply(tasks.inspectArray, [slice, 0]), { shared: true, type: 'Int32Array', byteLength: 1 << 20, value: -4 });
  const small = new Float64Array(1000).fill(1.5);
  assert.deepEqual(await pool.apply(tasks.inspectArray, [small, 0]), { shared: false, type: 'Float64Array', byteLength: 8000, value: 1.5 });
  const items = [new Uint8Array(1 << 20).fill(1), new Uint8Array(1 << 20).fill(2)];
  const mapped = await pool.map(tasks.inspectFirst, items);
  assert.deepEqual(mapped.map((m) => [m.shared, m.value]), [[true, 1], [true, 2]]);
  assert.equal(pool.sharedArgumentSegments.length, 5);

  await using executor = new ProcessPoolExecutor({ maxWorkers: 1 });
  assert.equal((await executor.submit(tasks.inspectArray, buffer, 0)).shared, true);
});

test('terminate() unlinks the segments too', async () => {
  const pool = new Pool({ processes: 1 });
  await pool.apply(tasks.inspectArray, [new Uint8Array(1 << 20), 0]);
  assert.equal(ownSegments().length, 1);
  pool.terminate();
  await pool.join();
  assert.deepEqual(ownSegments(), []);
});

test('a SIGKILLed parent leaves neither its shared argument segment nor its workers behind', { timeout: 240_000 }, async () => {
  let seen: { segments: string[]; workers: number[] } | null = null;
  const run = await runProgram(fileURLToPath(new URL('./fixtures/pool-shared-killed.ts', import.meta.url)), {}, (stdout, pid) => {
    if (seen === null && stdout.includes('\n')) {
      seen = JSON.parse(stdout.split('\n')[0]);
      process.kill(pid, 'SIGKILL');
    }
  });
  assert.equal(run.signal, 'SIGKILL');
  const { segments, workers } = seen!;
  assert.equal(segments.length, 1);
  // Generous: on a loaded machine the last holder of the tracker's FIFO can take tens of seconds to go.
  const deadline = Date.now() + 120_000;
  const left = () => [...segments.filter((name) => existsSync(`/dev/shm/${name}`)), ...workers.filter((pid) => !isGone(pid)).map(String)];
  while (left().length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  assert.deepEqual(left(), [], 'waited 120 s for the resource tracker to unlink the segment and the workers to exit');
});

test('workers map a shared argument read-only: a task that writes to it fails, says why, and changes nothing', async () => {
  const run = await runProgram(fileURLToPath(new URL('./fixtures/pool-read-only.ts', import.meta.url)));
  assert.equal(run.code, 0, run.stderr);
  const { error, after, callerSees } = JSON.parse(run.stdout.trim().split('\n').at(-1)!);
  assert.match(error, /SIGSEGV/, 'the writing task fails with its worker\'s death');
  assert.match(run.stderr, /a pool task wrote to a large array argument, which workers share read-only/);
  assert.equal(after, 2.5, 'a later task, on a new worker, reads the original value');
  assert.equal(callerSees, 2.5);
});
