import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lock, RLock, RawValue, Value, RawArray, SharedArray, type Typecode } from '../src/index.ts';

test('Value: typecodes, defaults, bigint for l L q Q', () => {
  const cases: [Typecode, number | bigint][] = [
    ['c', 255], ['b', -128], ['B', 255], ['h', -32768], ['H', 65535], ['i', -(2 ** 31)], ['I', 2 ** 32 - 1],
    ['l', -(2n ** 63n)], ['L', 2n ** 64n - 1n], ['q', 2n ** 63n - 1n], ['Q', 0n], ['f', 1.5], ['d', Math.PI],
  ];
  for (const [typecode, initial] of cases) {
    const value = new Value(typecode, initial as never);
    assert.equal(value.value, initial, typecode);
    assert.equal(value.typecode, typecode);
  }
  assert.equal(new Value('i').value, 0);
  assert.equal(new Value('q').value, 0n);
  assert.equal(new Value('c', 'x' as never).value, 120);
});

test('Value: bad typecodes and initial values throw errors naming them', () => {
  assert.throws(() => new Value('z' as never), /typecode must be one of c b B h H i I l L q Q f d \(got "z"\)/);
  assert.throws(() => new Value('i', 1.5), /initial must be an integer/);
  assert.throws(() => new Value('b', 128), /initial must be in \[-128, 127\]/);
  assert.throws(() => new Value('q', 'x' as never), /initial must be a bigint/);
  assert.throws(() => new Value('Q', -1n), /initial must be in \[0, /);
  assert.throws(() => new Value('i', 0, { lock: 'yes' as never }), /options.lock must be true, false, a Lock or an RLock/);
  const value = new Value('H', 1);
  assert.throws(() => {
    value.value = 70000;
  }, /value must be in \[0, 65535\]/);
});

test('Value: getLock / getObj / lock option', () => {
  const value = new Value('i', 1);
  assert.ok(value.getLock() instanceof RLock);
  const lock = new Lock();
  const withLock = new Value('d', 0, { lock });
  assert.equal(withLock.getLock(), lock);
  const raw = value.getObj();
  assert.ok(raw instanceof RawValue);
  raw.value = 9;
  assert.equal(value.value, 9);
  assert.throws(() => new Value('i', 0, { lock: false }).getLock(), /has no lock/);
  value.getLock().runSync(() => {
    value.value += 1;
  });
  assert.equal(value.value, 10);
  assert.equal(new RawValue('f', 0.5).value, 0.5);
});

test('SharedArray: index access, negative indexes, length, iteration, errors', () => {
  const array = new SharedArray('i', [1, 2, 3]);
  assert.equal(array.length, 3);
  array[0] = 5;
  assert.equal(array[0], 5);
  assert.equal(array[-1], 3);
  assert.deepEqual([...array], [5, 2, 3]);
  assert.deepEqual(array.toArray(), [5, 2, 3]);
  assert.equal(1 in array, true);
  assert.equal(3 in array, false);
  assert.throws(() => array[3], /index 3 out of range for an array of length 3/);
  assert.throws(() => {
    array[1] = 1.5;
  }, /value at index 1 must be an integer/);
  assert.throws(() => new SharedArray('i', -1), /sizeOrValues must be a length >= 0/);
  assert.throws(() => new SharedArray('i', ['a'] as never), /sizeOrValues\[0\] must be an integer/);
  assert.throws(() => new SharedArray('i', {} as never), /sizeOrValues must be a length or an iterable/);
  const zeros = new SharedArray('q', 4);
  assert.deepEqual(zeros.toArray(), [0n, 0n, 0n, 0n]);
  assert.ok(zeros.getLock() instanceof RLock);
  const raw = zeros.getObj();
  assert.ok(raw instanceof RawArray);
  raw[1] = 7n;
  assert.equal(zeros[1], 7n);
  assert.throws(() => new SharedArray('d', 2, { lock: false }).getLock(), /has no lock/);
});

test("SharedArray: 'c' arrays have .value and .raw", () => {
  const array = new SharedArray('c', 'hello');
  const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);
  assert.equal(text(array.value), 'hello');
  array.value = 'hi';
  assert.equal(text(array.value), 'hi');
  assert.deepEqual([...array.raw], [104, 105, 0, 108, 111]);
  array.raw = new Uint8Array([65, 66, 67, 68, 69]);
  assert.equal(text(array.value), 'ABCDE');
  assert.throws(() => {
    array.value = 'too long!';
  }, /longer than the array/);
  assert.throws(() => new SharedArray('i', 2).value, /exists only for typecode 'c'/);
  assert.equal(array[0], 65);
});
