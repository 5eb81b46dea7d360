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
 * the first number that does not fit, so nothing is read twice. With a
 * target (8 bytes per value), both are views there instead of new arrays.
 */
export function packNumbers(values: ArrayLike<unknown>, start = 0, end = values.length, target: PackTarget | null = null): PackedNumbers | null {
  const length = end - start;
  if (length < PACK_MIN) return null;
  const ints = target ? new Int32Array(target.buffer, target.byteOffset, length) : new Int32Array(length);
  let i = 0;
  for (; i < length; i++) {
    const value = values[start + i];
    if (typeof value !== 'number') return null;
    if (!fitsInt32(value)) break;
    ints[i] = value;
  }
  if (i === length) return ints;
  const floats = target ? new Float64Array(target.buffer, target.byteOffset, length) : new Float64Array(length);
  // Backwards, so that widening in place (a target's views share their bytes) overwrites only what was moved already.
  for (let j = i - 1; j >= 0; j--) floats[j] = ints[j]!;
  for (; i < length; i++) {
    const value = values[start + i];
    if (typeof value !== 'number') return null;
    floats[i] = value;
  }
  return floats;
}

/** Where numbers are packed instead of into arrays of their own: 8 bytes per number of a lane or a PackingSpace buffer. */
export interface PackTarget {
  buffer: ArrayBufferLike;
  byteOffset: number;
}

/** The largest buffer a pool keeps between maps (1M numbers); larger ones are made for their map alone. */
const SPACE_KEPT_BYTES = 8 * 1024 * 1024;

/**
 * Room to pack a map's numbers in, kept by a pool from one map to the next.
 * A new 50 KB typed array per chunk is new pages more often than not here
 * (the allocator hands freed blocks back to the kernel after a GC), and a
 * page fault costs ~10 µs; a buffer reused map after map has its pages.
 * A map takes the buffer (8 bytes per item) and gives it back once all its
 * chunks have settled, when no job refers to it anymore.
 */
export class PackingSpace {
  private spare: ArrayBuffer | null = null;

  /** A buffer of at least `items` × 8 bytes: the kept one if it is free and large enough. */
  take(items: number): ArrayBuffer {
    const bytes = items * 8;
    const spare = this.spare;
    if (spare && spare.byteLength >= bytes) {
      this.spare = null;
      return spare;
    }
    return new ArrayBuffer(bytes);
  }

  /** `buffer`'s map has settled; the larger of it and the kept one is kept. */
  giveBack(buffer: ArrayBuffer): void {
    if (buffer.byteLength <= SPACE_KEPT_BYTES && (!this.spare || buffer.byteLength > this.spare.byteLength)) this.spare = buffer;
  }
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
    // Backwards, as in packNumbers.
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
