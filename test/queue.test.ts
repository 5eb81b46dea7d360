// Queue, JoinableQueue, SimpleQueue: in one process and across real children.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import * as targets from './fixtures/queue-targets.ts';
import { readResult, resultPath } from './support/result-files.ts';
import { Process, Queue, JoinableQueue, SimpleQueue, Empty, Full, UnserializableError } from '../src/index.ts';

/** How long a test waits for children that should finish at once; longer means one of them hung. */
const JOIN_BOUND_MS = 60_000;

test('FIFO, qsize/empty/full, Full and Empty without blocking or after a timeout', async () => {
  const q = new Queue<number>({ maxsize: 2 });
  assert.equal(q.empty(), true);
  await q.put(1);
  q.putSync(2);
  assert.equal(q.qsize(), 2);
  assert.equal(q.full(), true);
  assert.throws(() => q.putNowait(3), Full);
  await assert.rejects(q.put(3, { timeout: 5 }), Full);
  assert.equal(await q.get(), 1);
  assert.equal(q.getSync(), 2);
  assert.throws(() => q.getNowait(), Empty);
  assert.throws(() => q.getSync({ timeout: 5 }), Empty);
  await assert.rejects(q.get({ block: false }), Empty);
  q.close();
});

test('operations after close throw; close rejects a pending get and ends for-await', async () => {
  const q = new Queue();
  const pending = q.get();
  q.close();
  await assert.rejects(pending, /closed/);
  assert.throws(() => q.putSync(1), /closed/);
  await assert.rejects(q.get(), /closed/);
  assert.throws(() => q.qsize(), /closed/);

  const r = new Queue<number>();
  for (const n of [1, 2, 3]) r.putSync(n);
  const seen: number[] = [];
  for await (const n of r) {
    seen.push(n);
    if (seen.length === 3) r.close();
  }
  assert.deepEqual(seen, [1, 2, 3]);
});

test('AbortSignal cancels a waiting get; await using closes', async () => {
  const controller = new AbortController();
  {
    await using q = new Queue();
    const pending = q.get({ signal: controller.signal });
    controller.abort(new Error('stop'));
    await assert.rejects(pending, /stop/);
    assert.equal(q.closed, false);
    var kept = q;
  }
  assert.equal(kept.closed, true);
});

test('argument validation names the argument', async () => {
  assert.throws(() => new Queue({ maxsize: 1.5 }), /'maxsize' must be an integer/);
  const q = new Queue();
  await assert.rejects(q.put(1, { timeout: NaN }), /Queue.put: options.timeout must be a number/);
  assert.throws(() => q.getSync({ block: 1 as never }), /Queue.getSync: options.block must be a boolean/);
  assert.throws(() => q.putSync({ f: Symbol('s') }), (e: Error) => e instanceof UnserializableError && /putSync\(\) argument obj\.f/.test(e.message));
  await assert.rejects(q.put([1, () => 2]), /put\(\) argument obj\[1\]/);
  assert.equal(q.empty(), true, 'a failed put leaves nothing behind');
  q.close();
});

test('JoinableQueue: taskDone too often throws; join waits for workers in children', async () => {
  const q = new JoinableQueue<number>();
  assert.throws(() => q.taskDone(), /task_done\(\) called too many times/);
  for (let i = 0; i < 6; i++) await q.put(i);
  assert.equal(await q.join(5), false);
  const workers = [0, 1].map(() => new Process({ target: targets.workJoinable, args: [q, 3] }));
  for (const w of workers) w.start();
  try {
    // A worker that died before its taskDone() calls would leave join() waiting
    // forever: wait for the workers first, so such a death fails with their codes.
    await Promise.all(workers.map((w) => w.join(JOIN_BOUND_MS)));
    assert.deepEqual(workers.map((w) => w.exitCode), [0, 0]);
    assert.equal(await q.join(JOIN_BOUND_MS), true, 'every task was marked done');
    assert.equal(q.joinSync(0), true);
  } finally {
    for (const w of workers) if (w.exitCode === null) w.kill();
  }
});

test('SimpleQueue: put, get, empty, close', async () => {
  const q = new SimpleQueue<string>();
  assert.equal(q.empty(), true);
  q.put('a');
  q.put('b');
  assert.equal(q.empty(), false);
  assert.equal(await q.get(), 'a');
  assert.equal(q.getSync(), 'b');
  q.close();
  assert.throws(() => q.put('c'), /closed/);
});

test('a 256 MiB message goes through a queue to a child', async () => {
  const q = new Queue();
  const out = resultPath();
  const big = Buffer.alloc(256 * 1024 * 1024, 1);
  big[big.length - 1] = 5;
  await q.put(big);
  const p = new Process({ target: targets.takeBig, args: [q, out] });
  p.start();
  await p.join();
  assert.equal(p.exitCode, 0);
  assert.deepEqual(readResult(out), { length: big.length, sum: big.length / 4096, last: 5 });
});

test('a producer killed while writing a huge message does not corrupt other producers', async () => {
  const q = new Queue();
  const killed = new Process({ target: targets.putHuge, args: [q, 1024 * 1024 * 1024] });
  killed.start();
  // Wait until its side segment exists: it is then mid-write.
  const prefix = `${(q as unknown as { ring: { name: string } }).ring.name.slice(1)}.`;
  while (!readdirSync('/dev/shm').some((n) => n.startsWith(prefix))) await new Promise((r) => setImmediate(r));
  killed.kill();
  const producer = new Process({ target: targets.produce, args: [q, 1, 50, 10] });
  producer.start();
  await Promise.all([killed.join(), producer.join()]);
  assert.equal(killed.exitCode, -9);
  const out = resultPath();
  await q.put(null);
  const consumer = new Process({ target: targets.consume, args: [q, out, 1000] });
  consumer.start();
  await consumer.join();
  assert.deepEqual(readResult(out), Array.from({ length: 50 }, (_, seq) => [1, seq, 10]));
  // The killed producer's unpublished side segment is named after the ring, so the ring's owner removes it at exit.
});

test('a received Buffer is the receiver\'s own copy: later traffic does not overwrite it', async () => {
  const q = new Queue<Buffer | { nested: Uint8Array }>();
  q.putSync(Buffer.alloc(64, 1));
  q.putSync({ nested: new Uint8Array(64).fill(2) });
  const first = (await q.get()) as Buffer;
  const second = (await q.get()) as { nested: Uint8Array };
  for (let i = 0; i < 100; i++) {
    q.putSync(Buffer.alloc(64, 9));
    await q.get();
  }
  assert.ok(first.every((b) => b === 1));
  assert.ok(second.nested.every((b) => b === 2));
  q.close();
});

test('large byte messages (from the native buffer pool) keep their type, length and contents, each in its own memory', async () => {
  const q = new Queue<Buffer | Uint8Array>();
  const sizes = [64 * 1024 - 1, 64 * 1024, 300_000, 1 << 20];
  const received: (Buffer | Uint8Array)[] = [];
  for (const [i, size] of sizes.entries()) {
    q.putSync(Buffer.alloc(size, i + 1));
    q.putSync(new Uint8Array(size).fill(i + 101));
    received.push(await q.get(), await q.get());
  }
  for (const [i, size] of sizes.entries()) {
    const buffer = received[2 * i]!;
    const bytes = received[2 * i + 1]!;
    assert.ok(Buffer.isBuffer(buffer), `size ${size}: a Buffer arrives as a Buffer`);
    assert.equal(buffer.length, size);
    assert.ok(buffer.every((b) => b === i + 1));
    assert.equal(Object.getPrototypeOf(bytes), Uint8Array.prototype, `size ${size}: a Uint8Array arrives as a plain Uint8Array`);
    assert.equal(bytes.byteOffset, 0);
    assert.equal(bytes.buffer.byteLength, size, 'a Uint8Array owns its whole ArrayBuffer, as the sent one did');
    assert.ok(bytes.every((b) => b === i + 101));
  }
  received[6]!.fill(0);
  assert.ok(received[7]!.every((b) => b === 104), 'writing one message does not touch another');
  q.close();
});
