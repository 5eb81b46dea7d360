/**
 * Numbers travel packed: a chunk of map items that are all numbers goes to
 * the worker as a typed array, and a chunk whose results are all numbers
 * comes back as one. V8 serialises a typed array with one memcpy, where an
 * array costs a tag and a number per element on both sides, and tiny tasks
 * are dominated by exactly that cost. Int32Array when every number is a
 * 32-bit integer (half the bytes), else Float64Array, which holds any JS
 * number exactly (NaN, ±Infinity, -0, integers past 2^31). Anything else
 * stays an array and takes the general path. Used by both sides: the parent
 * packs items (pool.ts), the worker packs results (pool-worker.ts); the
 * receiving side just indexes, as a typed array reads like an array.
 */
import { encodeValue } from './pool-protocol.ts';

/** Below this many items a chunk is not worth packing: the array form costs as little. */
export const PACK_MIN = 16;

export type PackedNumbers = Int32Array | Float64Array;

/** True when `value` survives a trip through an Int32Array unchanged (-0 does not: it comes back as 0). */
function fitsInt32(value: number): boolean {
  return (value | 0) === value && (value !== 0 || 1 / value > 0);
}

/**
 * `values[start..end)` as a typed array when every one is a number, else
 * null. One pass: it fills an Int32Array and switches to a Float64Array at
 * the first number that does not fit, so nothing is read twice.
 */
export function packNumbers(values: ArrayLike<unknown>, start = 0, end = values.length): PackedNumbers | null {
  const length = end - start;
  if (length < PACK_MIN) return null;
  const ints = new Int32Array(length);
  let i = 0;
  for (; i < length; i++) {
    const value = values[start + i];
    if (typeof value !== 'number') return null;
    if (!fitsInt32(value)) break;
    ints[i] = value;
  }
  if (i === length) return ints;
  const floats = new Float64Array(length);
  floats.set(ints.subarray(0, i));
  for (; i < length; i++) {
    const value = values[start + i];
    if (typeof value !== 'number') return null;
    floats[i] = value;
  }
  return floats;
}

/** Where a packer writes its numbers instead of arrays of its own: `size` × 8 bytes of a number lane. */
export interface PackTarget {
  buffer: SharedArrayBuffer;
  byteOffset: number;
}

/**
 * Collects one chunk's results in the worker, in the tightest form that
 * holds them all so far: an Int32Array until a result does not fit, then a
 * Float64Array, then, at the first result that is not a number, an array of
 * results encoded for transfer. Results are added in order, one per item.
 * With a target, both typed forms are views of the same bytes there.
 */
export class ChunkResultPacker {
  private ints: Int32Array | null = null;
  private floats: Float64Array | null = null;
  private list: unknown[] | null = null;
  private count = 0;

  constructor(
    private readonly size: number,
    private readonly target: PackTarget | null = null,
  ) {
    // A chunk this small travels as an array anyway.
    if (size < PACK_MIN && !target) this.list = [];
  }

  add(value: unknown): void {
    if (this.list) {
      this.list.push(encodeValue(value, 'result'));
      return;
    }
    if (typeof value !== 'number') {
      this.list = this.unpacked();
      this.list.push(encodeValue(value, 'result'));
      return;
    }
    if (this.floats) {
      this.floats[this.count++] = value;
      return;
    }
    if (fitsInt32(value)) {
      (this.ints ??= this.intView())[this.count++] = value;
      return;
    }
    const floats = (this.floats = this.floatView());
    // Backwards, so that widening in place (a target's views share their bytes) overwrites only what was moved already.
    if (this.ints) for (let i = this.count - 1; i >= 0; i--) floats[i] = this.ints[i]!;
    this.ints = null;
    floats[this.count++] = value;
  }

  /** The chunk's results, once every item's result was added; with a target, its typed forms are views there. */
  finish(): ArrayLike<unknown> {
    return this.list ?? this.floats ?? this.ints ?? this.intView();
  }

  private intView(): Int32Array {
    return this.target ? new Int32Array(this.target.buffer, this.target.byteOffset, this.size) : new Int32Array(this.size);
  }

  private floatView(): Float64Array {
    return this.target ? new Float64Array(this.target.buffer, this.target.byteOffset, this.size) : new Float64Array(this.size);
  }

  /** The numbers so far as an array, filled by push so that it stays packed (V8 serialises a holey array as a slow sparse one). */
  private unpacked(): unknown[] {
    const list: unknown[] = [];
    const numbers = this.floats ?? this.ints;
    for (let i = 0; i < this.count; i++) list.push(numbers![i]);
    this.ints = null;
    this.floats = null;
    return list;
  }
}
