/**
 * ShareableList, like multiprocessing.shared_memory.ShareableList: a
 * fixed-length list of scalars stored in a SharedMemory block. Each item
 * keeps the capacity it was created with: a string or bytes item may later
 * hold a value no longer (in UTF-8 bytes) than its original, rounded up to
 * 8; other items hold 8 bytes. Like Python's, it takes no lock.
 *
 * Layout: [count i32, pad] then per item (tag, capacity, offset, length) i32,
 * then the data.
 */
import { SharedMemory } from './shared-memory.ts';
import { describe } from '../checks.ts';
import { reduceForTransfer, revive, uninitialized, type ReducedShareable, type Shareable } from '../transfer/shareable.ts';

/** What a ShareableList item may be. */
export type ShareableItem = number | bigint | boolean | string | Uint8Array | null;

const enum Tag {
  Null = 0,
  Number = 1,
  BigInt = 2,
  Boolean = 3,
  String = 4,
  Bytes = 5,
}

const HEADER = 8;
const ENTRY = 16;

function encode(item: unknown, what: string): { tag: Tag; bytes?: Uint8Array } {
  if (item === null || item === undefined) return { tag: Tag.Null };
  if (typeof item === 'number') return { tag: Tag.Number };
  if (typeof item === 'bigint') {
    if (item < -(2n ** 63n) || item >= 2n ** 63n) throw new RangeError(`${what} does not fit in 64 bits`);
    return { tag: Tag.BigInt };
  }
  if (typeof item === 'boolean') return { tag: Tag.Boolean };
  if (typeof item === 'string') return { tag: Tag.String, bytes: new TextEncoder().encode(item) };
  if (item instanceof Uint8Array) return { tag: Tag.Bytes, bytes: item };
  throw new TypeError(`${what} must be a number, bigint, boolean, string, Uint8Array or null (got ${typeof item})`);
}

/** A fixed-length list of scalars in shared memory. */
export class ShareableList implements Shareable {
  private segment!: SharedMemory;
  private table!: Int32Array;
  private data!: DataView;

  /**
   * Creates a list holding `values` (in a new SharedMemory, named
   * `options.name` if given). Use ShareableList.attach(name) to attach.
   */
  constructor(values: Iterable<ShareableItem>, options: { name?: string } = {}) {
    if (values === null || values === undefined || typeof (values as Iterable<unknown>)[Symbol.iterator] !== 'function') {
      throw new TypeError('values must be an iterable of numbers, bigints, booleans, strings, Uint8Arrays or nulls');
    }
    const items = Array.from(values);
    const encoded = items.map((item, i) => encode(item, `values[${i}]`));
    const capacities = encoded.map((e) => (e.bytes ? Math.max(8, Math.ceil(e.bytes.length / 8) * 8) : 8));
    const dataStart = HEADER + items.length * ENTRY;
    const size = dataStart + capacities.reduce((a, b) => a + b, 0);
    const shm = new SharedMemory({ name: options.name, create: true, size });
    const table = new Int32Array(shm.buf.buffer, 0, 2 + items.length * 4);
    table[0] = items.length;
    let offset = dataStart;
    for (let i = 0; i < items.length; i++) {
      table[2 + i * 4 + 1] = capacities[i]!;
      table[2 + i * 4 + 2] = offset;
      offset += capacities[i]!;
    }
    this.attach(shm);
    items.forEach((item, i) => this.set(i, item));
  }

  private attach(shm: SharedMemory): this {
    const buffer = shm.buf.buffer as SharedArrayBuffer;
    const count = new Int32Array(buffer, 0, 1)[0]!;
    this.segment = shm;
    this.table = new Int32Array(buffer, 0, 2 + count * 4);
    this.data = new DataView(buffer);
    return this;
  }

  /** Attaches to an existing list by its SharedMemory name. */
  static attach(name: string): ShareableList {
    if (typeof name !== 'string') throw new TypeError(`name must be a string, got ${describe(name)}`);
    return uninitialized(ShareableList).attach(new SharedMemory({ name }));
  }

  /** @internal Rebuilds a list sent by another process. */
  static [revive](state: { name: string }): ShareableList {
    return ShareableList.attach(state.name);
  }

  /** The SharedMemory holding the list. */
  get shm(): SharedMemory {
    return this.segment;
  }

  /** Number of items. */
  get length(): number {
    return this.table[0]!;
  }

  private entry(index: number): number {
    const i = index < 0 ? index + this.length : index;
    if (!Number.isInteger(i) || i < 0 || i >= this.length) {
      throw new RangeError(`index ${index} out of range for a list of length ${this.length}`);
    }
    return 2 + i * 4;
  }

  /** Item at `index` (negative counts from the end). */
  get(index: number): ShareableItem {
    const e = this.entry(index);
    const offset = this.table[e + 2]!;
    switch (this.table[e] as Tag) {
      case Tag.Null:
        return null;
      case Tag.Number:
        return this.data.getFloat64(offset, true);
      case Tag.BigInt:
        return this.data.getBigInt64(offset, true);
      case Tag.Boolean:
        return this.data.getUint8(offset) !== 0;
      case Tag.String:
        return new TextDecoder().decode(new Uint8Array(this.data.buffer, offset, this.table[e + 3]!).slice());
      case Tag.Bytes:
        return new Uint8Array(this.data.buffer, offset, this.table[e + 3]!).slice();
    }
  }

  /** Replaces the item at `index`; strings and bytes must fit the item's capacity. */
  set(index: number, item: ShareableItem): void {
    const e = this.entry(index);
    const { tag, bytes } = encode(item, 'item');
    const offset = this.table[e + 2]!;
    const capacity = this.table[e + 1]!;
    if (bytes && bytes.length > capacity) {
      throw new RangeError(`item is ${bytes.length} bytes; index ${index} holds at most ${capacity}`);
    }
    if (tag === Tag.Number) this.data.setFloat64(offset, item as number, true);
    else if (tag === Tag.BigInt) this.data.setBigInt64(offset, item as bigint, true);
    else if (tag === Tag.Boolean) this.data.setUint8(offset, item ? 1 : 0);
    else if (bytes) new Uint8Array(this.data.buffer, offset, capacity).set(bytes);
    this.table[e + 3] = bytes?.length ?? 0;
    this.table[e] = tag;
  }

  /** How many items equal `value` (=== for scalars, bytewise for Uint8Array). */
  count(value: ShareableItem): number {
    return this.toArray().filter((item) => same(item, value)).length;
  }

  /** First index of `value`; throws if absent, like Python's list.index. */
  index(value: ShareableItem): number {
    const i = this.toArray().findIndex((item) => same(item, value));
    if (i < 0) throw new RangeError(`${String(value)} not in ShareableList`);
    return i;
  }

  /** A copy of the items as a plain array. */
  toArray(): ShareableItem[] {
    return Array.from({ length: this.length }, (_, i) => this.get(i));
  }

  [Symbol.iterator](): Iterator<ShareableItem> {
    return this.toArray()[Symbol.iterator]();
  }

  /** Attaches to the same list in another process. */
  [reduceForTransfer](): ReducedShareable {
    return { kind: 'multiproc.ShareableList', state: { name: this.shm.name } };
  }
}

function same(a: ShareableItem, b: ShareableItem): boolean {
  if (a instanceof Uint8Array && b instanceof Uint8Array) return a.length === b.length && a.every((x, i) => x === b[i]);
  return a === b;
}
