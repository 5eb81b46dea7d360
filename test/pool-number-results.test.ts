// Packed chunks (src/pool/number-results.ts) with real worker processes:
// numbers go out and come back as typed arrays, and every other value,
// mixed in anywhere, still takes the general path and arrives intact.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { Pool, RemoteTraceback, WorkerDiedError } from '../src/index.ts';
import { ChunkResultPacker, PACK_MIN, PackingSpace, packNumbers } from '../src/pool/number-results.ts';
import { LANE_BYTES, NumberLane } from '../src/pool/number-lane.ts';
import * as tasks from './fixtures/number-tasks.ts';

let pool: Pool;
before(() => {
  pool = new Pool({ processes: 2 });
});
after(async () => {
  pool.close();
  await pool.join();
});

const range = (n: number, from = 0): number[] => Array.from({ length: n }, (_, i) => from + i);

/** Object.is on every element: deepEqual's own check would do, but this names the first bad index. */
function assertSameNumbers(actual: unknown[], expected: unknown[]): void {
  assert.equal(actual.length, expected.length);
  assert.ok(Array.isArray(actual), 'map returns a plain array');
  for (let i = 0; i < expected.length; i++) {
    if (!Object.is(actual[i], expected[i])) assert.fail(`item ${i}: got ${String(actual[i])} (${typeof actual[i]}), expected ${String(expected[i])}`);
  }
}

test('the packed forms: Int32Array for int32s, Float64Array for other numbers, nothing for the rest', () => {
  const ints = range(100, -50);
  assert.ok(packNumbers(ints) instanceof Int32Array);
  assert.deepEqual([...packNumbers(ints, 10, 30)!], ints.slice(10, 30));
  for (const odd of [0.5, -0, NaN, 2 ** 31, -(2 ** 31) - 1, Infinity]) {
    const packed = packNumbers([...ints.slice(0, 40), odd, ...ints.slice(40)]);
    assert.ok(packed instanceof Float64Array, `${odd} makes a Float64Array`);
    assert.ok(Object.is(packed[40], odd) && packed[0] === -50 && packed[100] === 49);
  }
  assert.equal(packNumbers([...ints, '1']), null);
  assert.equal(packNumbers([...ints.slice(0, 20), 0.5, ...ints.slice(20), null]), null, 'a non-number after the switch to floats');
  assert.equal(packNumbers(ints.slice(0, PACK_MIN - 1)), null, 'too short to be worth it');

  const packer = (values: unknown[]) => {
    const p = new ChunkResultPacker(values.length);
    for (const value of values) p.add(value);
    return p.finish();
  };
  assert.ok(packer(ints) instanceof Int32Array);
  const switching = packer([...ints.slice(0, 30), 1.5, ...ints.slice(30)]);
  assert.ok(switching instanceof Float64Array);
  assert.deepEqual([...switching], [...ints.slice(0, 30), 1.5, ...ints.slice(30)]);
  const mixed = packer([...ints.slice(0, 30), 1.5, 'x', ...ints.slice(30)]);
  assert.ok(Array.isArray(mixed));
  assert.deepEqual(mixed, [...ints.slice(0, 30), 1.5, 'x', ...ints.slice(30)]);
  assert.ok(Array.isArray(packer(ints.slice(0, 3))), 'a small chunk stays an array');
});

test('packing into a kept buffer: views of it, widened in place; the buffer is lent to one map at a time', () => {
  const space = new PackingSpace();
  const buffer = space.take(100);
  assert.ok(buffer.byteLength >= 800);
  const ints = packNumbers(range(100), 20, 60, { buffer, byteOffset: 20 * 8 });
  assert.ok(ints instanceof Int32Array && ints.buffer === buffer && ints.byteOffset === 160);
  const mixed = [...range(30), 2.5, ...range(30)];
  const floats = packNumbers(mixed, 0, mixed.length, { buffer, byteOffset: 0 });
  assert.ok(floats instanceof Float64Array && floats.buffer === buffer);
  assert.deepEqual([...floats], mixed);
  assert.notEqual(space.take(100), buffer, 'taken: the next map gets a buffer of its own');
  space.giveBack(buffer);
  assert.equal(space.take(50), buffer, 'given back: reused by a map that fits');
  space.giveBack(buffer);
  assert.notEqual(space.take(1_000), buffer, 'too small for this map');
});

test("a number lane is a ring: regions are reused in order, a chunk that does not fit is refused, close() unlinks it", () => {
  const lane = new NumberLane();
  const segment = `/dev/shm${lane.name}`;
  assert.ok(existsSync(segment));
  // Each of these takes 100k × (4 + 8) bytes = 1.2 MB of the 4 MiB.
  assert.equal(LANE_BYTES, 4 * 1024 * 1024);
  const chunk = new Int32Array(100_000).map((_, i) => i);
  const refs = [1, 2, 3].map((id) => lane.place(id, chunk));
  assert.deepEqual(refs.map((ref) => ref?.at), [0, 1_200_000, 2_400_000]);
  assert.equal(lane.place(4, chunk), null, 'no room after the third');
  lane.release(2);
  assert.equal(lane.place(4, chunk), null, 'the freed middle region waits for the one before it');
  lane.release(1);
  const wrapped = lane.place(4, chunk);
  assert.equal(wrapped?.at, 0, 'wraps to the start once the oldest regions are free');
  assert.equal(lane.place(5, chunk), null, 'the head stops short of the live tail');
  const floats = lane.place(5, new Float64Array(10_000).fill(0.5));
  assert.ok(floats && floats.at === 1_200_000 && floats.form === 'f64' && floats.results === 1_280_000);
  lane.release(3);
  lane.release(4);
  lane.release(5);
  assert.equal(lane.place(6, chunk)?.at, 0, 'empty again: from the start');
  lane.close();
  assert.ok(!existsSync(segment));
  assert.equal(lane.place(7, chunk), null, 'a closed lane takes nothing');
});

test('int32 items and results round-trip in order, at the default chunksize and at others', async () => {
  const items = range(10_000, -5_000);
  assertSameNumbers(await pool.map(tasks.double, items), items.map(tasks.double));
  assertSameNumbers(await pool.map(tasks.double, items, { chunksize: 17 }), items.map(tasks.double));
  assertSameNumbers(await pool.map(tasks.double, items, { chunksize: 10_000 }), items.map(tasks.double));
  // Below the packing threshold, chunks travel as arrays: the same results.
  assertSameNumbers(await pool.map(tasks.double, items.slice(0, 40), { chunksize: 3 }), items.slice(0, 40).map(tasks.double));
});

test('maps running at once each pack into their own buffer', async () => {
  const ints = range(30_000);
  const floats = range(30_000).map((i) => i + 0.25);
  const [a, b, c] = await Promise.all([pool.map(tasks.double, ints), pool.map(tasks.same, floats), pool.map(tasks.halfOfOdd, ints)]);
  assertSameNumbers(a, ints.map(tasks.double));
  assertSameNumbers(b, floats);
  assertSameNumbers(c, ints.map(tasks.halfOfOdd));
});

test('float items and results round-trip exactly', async () => {
  const items = range(5_000).map((i) => i / 7 - 300);
  assertSameNumbers(await pool.map(tasks.same, items), items);
  assertSameNumbers(await pool.map(tasks.double, items), items.map(tasks.double));
});

test('NaN, -0, ±Infinity, tiny and large integers survive both ways', async () => {
  const specials = [NaN, -0, 0, Infinity, -Infinity, Number.MIN_VALUE, Number.MAX_VALUE, Number.MAX_SAFE_INTEGER, -(2 ** 53), 2 ** 31, -(2 ** 31), 2 ** 31 - 1, -(2 ** 31) - 1, 0.1];
  const items = range(200).map((i) => specials[i % specials.length]!);
  assertSameNumbers(await pool.map(tasks.same, items), items);
  // A chunk of int32 items whose results are mostly not int32.
  const ints = range(3_000);
  assertSameNumbers(await pool.map(tasks.awkward, ints), ints.map(tasks.awkward));
  // -0 alone among ints: it must not come back as 0.
  const withNegZero = range(100).map((i) => (i === 50 ? -0 : i));
  assertSameNumbers(await pool.map(tasks.same, withNegZero), withNegZero);
});

test('results that switch from int to float part-way through a chunk', async () => {
  const items = range(4_000);
  assertSameNumbers(await pool.map(tasks.halfOfOdd, items), items.map(tasks.halfOfOdd));
  // Floats from the first item on, then ints: the chunk stays Float64.
  assertSameNumbers(await pool.map(tasks.halfOfOdd, range(4_000, 1)), range(4_000, 1).map(tasks.halfOfOdd));
});

test('numbers mixed with other values: items and results fall back to the general path', async () => {
  const items: unknown[] = range(1_000);
  items[500] = 'five hundred';
  items[501] = { n: 501 };
  items[502] = null;
  items[503] = 10n;
  items[504] = [1, 2];
  items[505] = undefined;
  items[506] = new Date(0);
  const back = await pool.map(tasks.same, items);
  assert.deepEqual(back, items);
  assertSameNumbers(back.slice(0, 500), items.slice(0, 500));
  // Number items whose results turn into strings part-way.
  const numbers = range(3_000);
  assert.deepEqual(await pool.map(tasks.tagMultiplesOf, numbers), numbers.map(tasks.tagMultiplesOf));
  // A typed array item is an item, not a packed chunk.
  const arrays = range(20).map((i) => new Float64Array([i, i + 0.5]));
  assert.deepEqual(await pool.map(tasks.same, arrays), arrays);
});

test('a task that throws in a packed chunk rejects the map with its own error', async () => {
  const error = await pool.map(tasks.failOn57, range(2_000)).then(
    () => assert.fail('should have thrown'),
    (e: unknown) => e as tasks.PackedChunkError,
  );
  assert.equal(error.name, 'PackedChunkError');
  assert.ok(error instanceof tasks.PackedChunkError);
  assert.equal(error.message, 'item 57 refused');
  assert.equal(error.item, 57);
  assert.ok(error.cause instanceof RemoteTraceback);
  // The pool is fine afterwards, and the chunks that did not fail were right.
  assertSameNumbers(await pool.map(tasks.failOn57, range(50, 1_000)), range(50, 1_001));
  let called = 0;
  const failing = pool.mapAsync(tasks.failOn57, range(1_000), { errorCallback: () => called++ });
  await assert.rejects(failing.get(), /item 57 refused/);
  assert.equal(called, 1);
});

test('async task functions fill packed results too', async () => {
  const items = range(500);
  assertSameNumbers(await pool.map(tasks.asyncDouble, items), items.map(tasks.double));
});

test('imap, imapUnordered and starmap over number chunks', async () => {
  const items = range(3_000);
  const ordered: number[] = [];
  for await (const x of pool.imap(tasks.double, items, { chunksize: 100 })) ordered.push(x);
  assertSameNumbers(ordered, items.map(tasks.double));
  const unordered: number[] = [];
  for await (const x of pool.imapUnordered(tasks.halfOfOdd, items, { chunksize: 64 })) unordered.push(x);
  assertSameNumbers(unordered.sort((a, b) => a - b), items.map(tasks.halfOfOdd).sort((a, b) => a - b));
  const pairs = items.map((i) => [i, i / 2] as [number, number]);
  assertSameNumbers(await pool.starmap(tasks.addPair, pairs), pairs.map(([a, b]) => a + b));
  assertSameNumbers(await pool.starmap(tasks.addPair, pairs, { chunksize: 1_000 }), pairs.map(([a, b]) => a + b));
});

test('a map larger than the lanes hold: the chunks that do not fit go through the socket', async () => {
  const items = range(1_000_000);
  const back = await pool.map(tasks.halfOfOdd, items);
  assertSameNumbers(back, items.map(tasks.halfOfOdd));
});

test('a worker killed with packed chunks in flight: its running chunk fails, the others run elsewhere, the lanes are unlinked', async () => {
  const ownSegments = () => new Set(readdirSync('/dev/shm').filter((name) => name.startsWith(`mp-${process.pid}-`)));
  const before = ownSegments();
  const dying = new Pool({ processes: 2 });
  const items = range(20_000);
  await assert.rejects(dying.map(tasks.killOn4242, items, { chunksize: 1_000 }), (e: unknown) => e instanceof WorkerDiedError);
  // The replacement worker and the survivor serve whole maps again.
  assertSameNumbers(await dying.map(tasks.double, items), items.map(tasks.double));
  const results: number[] = [];
  for await (const x of dying.imap(tasks.killOn4242, range(4_000, 5_000), { chunksize: 500 })) results.push(x);
  assertSameNumbers(results, range(4_000, 5_000).map((x) => x * 3));
  dying.close();
  await dying.join();
  // The pool's small shared cells come from a slab that lives as long as the program; lanes must not.
  const lanesLeft = [...ownSegments()].filter((name) => !before.has(name) && statSync(`/dev/shm/${name}`).size === LANE_BYTES);
  assert.deepEqual(lanesLeft, []);
});

test('a pool with maxMemoryPerChild still gets packed results (the worker reports its memory with them)', async () => {
  await using small = new Pool({ processes: 1, maxMemoryPerChild: 4 * 1024 ** 3 });
  const items = range(1_000);
  assertSameNumbers(await small.map(tasks.halfOfOdd, items), items.map(tasks.halfOfOdd));
});
