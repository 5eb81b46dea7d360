// The manager's hand-written fast path for small frames writes what v8.deserialize reads back as the same value.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deserialize } from 'node:v8';
import { serializeFramed } from '../src/managers/frames.ts';
import { readSmall, smallFrame } from '../src/managers/small-frames.ts';

const covered: unknown[] = [
  [1, 5, 3, 'set', ['k', 5], false],
  [7, 0, undefined],
  [7, 0, null],
  [1, 0, -1, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, 2 ** 53, -0, 0.1, Infinity, -Infinity],
  ['', 'a'.repeat(200), '~ !'],
  [[[[1]]], []],
];
const fallback: unknown[] = [[1, 'héllo'], [1, '😀'], [1, 'x'.repeat(300)], [1, [1, , 3]], [{ a: 1 }], [new Map([[1, 2]])], [10n]];

test('small frames take the fast path and read back equal, -0 and NaN included', () => {
  for (const value of [...covered, [NaN]]) {
    const framed = smallFrame(value);
    assert.ok(framed, `fast path for ${String(value)}`);
    assert.equal(framed.readUInt32BE(0), framed.length - 4);
    assert.deepStrictEqual(deserialize(framed.subarray(4)), value);
    assert.deepStrictEqual(readSmall(framed.subarray(4)), value);
  }
});

test('the reader falls back to v8.deserialize for other and malformed bodies: the same value, or its error', () => {
  const framed = smallFrame([1, 'k', [2, 3]])!.subarray(4);
  for (let cut = 0; cut < framed.length; cut++) {
    const body = framed.subarray(0, cut);
    let expected: unknown;
    try {
      expected = { value: deserialize(body) };
    } catch (error) {
      expected = { error: (error as Error).message };
    }
    let got: unknown;
    try {
      got = { value: readSmall(body) };
    } catch (error) {
      got = { error: (error as Error).message };
    }
    assert.deepStrictEqual(got, expected, `a body cut at ${cut}`);
  }
  for (const value of fallback) assert.deepStrictEqual(readSmall(serializeFramed(value).subarray(4)), value);
});

test('anything else goes through v8.serialize, framed the same way', () => {
  for (const value of fallback) {
    assert.equal(smallFrame(value), null, `no fast path for ${String(value)}`);
    const framed = serializeFramed(value);
    assert.equal(framed.readUInt32BE(0), framed.length - 4);
    assert.deepStrictEqual(deserialize(framed.subarray(4)), value);
  }
});
