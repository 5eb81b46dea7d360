/**
 * SharedArray and RawArray, like multiprocessing.Array / RawArray (not named
 * Array, so the global is not shadowed): a fixed-length typed array in
 * shared memory, indexed like one (`arr[0] = 5`, `arr[-1]`, `arr.length`).
 * SharedArray takes its lock (an RLock by default) around each indexed
 * access and whole-array operation, as Python's synchronized wrapper does.
 */
import { lockFromReduced, type AnyLock } from '../sync/lock.ts';
import { allocateBlock, attachBlock, type BlockRef, type SharedBlock } from '../platform/shared-heap.ts';
import { reduceForTransfer, revive, uninitialized, type ReducedShareable, type Shareable } from '../transfer/shareable.ts';
import { resolveLockOption, type SynchronizedOptions } from './shared-value.ts';
import { typecodeInfo, type ElementOf, type Typecode, type TypecodeInfo } from './typecodes.ts';
import { describe } from '../checks.ts';
import { InvalidStateError } from '../errors.ts';

interface ArrayState extends BlockRef {
  typecode: Typecode;
  length: number;
  lock: ReducedShareable | null;
}

type View = { [index: number]: number | bigint; length: number; slice(start?: number, end?: number): ArrayLike<number | bigint> };


/** Index from a property key: canonical integer strings only (negative counts from the end). */
function indexKey(key: string | symbol): number | undefined {
  if (typeof key !== 'string' || key.length === 0 || key.length > 16) return undefined;
  const first = key.charCodeAt(0);
  if ((first < 48 || first > 57) && first !== 45) return undefined;
  const n = Number(key);
  return Number.isInteger(n) && String(n) === key ? n : undefined;
}

const indexing: ProxyHandler<RawArray> = {
  get(target, key) {
    const index = indexKey(key);
    if (index !== undefined) return target.get(index);
    const value = Reflect.get(target, key, target);
    return typeof value === 'function' ? value.bind(target) : value;
  },
  set(target, key, value) {
    const index = indexKey(key);
    if (index !== undefined) target.set(index, value);
    else Reflect.set(target, key, value, target);
    return true;
  },
  has(target, key) {
    const index = indexKey(key);
    return index !== undefined ? index >= 0 && index < target.length : Reflect.has(target, key);
  },
};

function encodeBytes(value: unknown, what: string): Uint8Array {
  if (typeof value === 'string') return new TextEncoder().encode(value);
  if (value instanceof Uint8Array) return value;
  throw new TypeError(`${what} must be a string or a Uint8Array`);
}

/** A fixed-length typed array in shared memory, without a lock. */
export class RawArray<C extends Typecode = Typecode> implements Shareable, Iterable<ElementOf<C>> {
  [index: number]: ElementOf<C>;
  /** The typecode this array was created with. */
  readonly typecode!: C;
  /** Number of elements. */
  readonly length!: number;
  protected info!: TypecodeInfo;
  protected block!: SharedBlock;
  protected view!: View;
  protected lock!: AnyLock | undefined;

  /**
   * `sizeOrValues`: a length (zero-filled), or the initial elements (an
   * array, typed array or iterable; for 'c' also a string, UTF-8 encoded).
   */
  constructor(typecode: C, sizeOrValues: number | Iterable<ElementOf<C>> | string) {
    const info = typecodeInfo(typecode);
    let initial: ArrayLike<unknown> | undefined;
    let length: number;
    if (typeof sizeOrValues === 'number') {
      if (!Number.isInteger(sizeOrValues) || sizeOrValues < 0) {
        throw new RangeError(`sizeOrValues must be a length >= 0 or the initial values (got ${sizeOrValues})`);
      }
      length = sizeOrValues;
    } else if (typeof sizeOrValues === 'string' && typecode === 'c') {
      initial = encodeBytes(sizeOrValues, 'sizeOrValues');
      length = initial.length;
    } else if (sizeOrValues != null && typeof (sizeOrValues as Iterable<unknown>)[Symbol.iterator] === 'function' && typeof sizeOrValues !== 'string') {
      initial = Array.from(sizeOrValues as Iterable<unknown>);
      length = initial.length;
    } else {
      throw new TypeError(`sizeOrValues must be a length or an iterable of initial values (got ${describe(sizeOrValues)})`);
    }
    const checked = initial && Array.from(initial, (item, i) => info.check(item, `sizeOrValues[${i}]`));
    this.attach(typecode, allocateBlock(Math.max(1, length * info.bytes), 8), length, undefined);
    if (checked !== undefined) for (let i = 0; i < checked.length; i++) this.view[i] = checked[i]!;
    return new Proxy(this, indexing as ProxyHandler<this>);
  }

  protected attach(typecode: C, block: SharedBlock, length: number, lock: AnyLock | undefined): this {
    (this as { typecode: C }).typecode = typecode;
    (this as { length: number }).length = length;
    this.info = typecodeInfo(typecode);
    this.block = block;
    this.view = this.info.view(block.buffer, block.offset, length) as unknown as View;
    this.lock = lock;
    return this;
  }

  /** @internal Rebuilds an array of this class sent by another process. */
  static [revive]<T extends RawArray>(this: abstract new (...args: any[]) => T, state: ArrayState): T {
    const lock = state.lock ? lockFromReduced(state.lock) : undefined;
    const array = uninitialized(this).attach(state.typecode, attachBlock(state), state.length, lock);
    return new Proxy(array, indexing as ProxyHandler<T>);
  }

  private position(index: number): number {
    const i = index < 0 ? index + this.length : index;
    if (!(i >= 0 && i < this.length)) throw new RangeError(`index ${index} out of range for an array of length ${this.length}`);
    return i;
  }

  protected locked<T>(fn: () => T): T {
    const lock = this.lock;
    if (lock === undefined || lock.heldByCurrentThread) return fn();
    lock.acquireSync();
    try {
      return fn();
    } finally {
      lock.release();
    }
  }

  /** Element at `index` (negative counts from the end); same as `arr[index]`. */
  get(index: number): ElementOf<C> {
    const i = this.position(index);
    return this.locked(() => this.view[i] as ElementOf<C>);
  }

  /** Sets the element at `index`; same as `arr[index] = value`. */
  set(index: number, value: ElementOf<C>): void {
    const i = this.position(index);
    const checked = this.info.check(value, `value at index ${index}`);
    this.locked(() => {
      this.view[i] = checked;
    });
  }

  /** A copy of the elements as a plain array. */
  toArray(): ElementOf<C>[] {
    return this.locked(() => Array.from(this.view.slice() as ArrayLike<ElementOf<C>>));
  }

  [Symbol.iterator](): Iterator<ElementOf<C>> {
    return this.toArray()[Symbol.iterator]();
  }

  private checkBytes(what: string): void {
    if (this.typecode !== 'c') throw new TypeError(`${what} exists only for typecode 'c' arrays (this one is '${this.typecode}')`);
  }

  /** For 'c' arrays: the bytes up to the first NUL (a copy). */
  get value(): Uint8Array {
    this.checkBytes('value');
    return this.locked(() => {
      const bytes = this.view as unknown as Uint8Array;
      const end = bytes.indexOf(0);
      return bytes.slice(0, end < 0 ? bytes.length : end);
    });
  }

  /** For 'c' arrays: writes bytes (a string is UTF-8 encoded), NUL-terminated if shorter than the array. */
  set value(value: Uint8Array | string) {
    this.checkBytes('value');
    const bytes = encodeBytes(value, 'value');
    if (bytes.length > this.length) throw new RangeError(`value is ${bytes.length} bytes, longer than the array (${this.length})`);
    this.locked(() => {
      const view = this.view as unknown as Uint8Array;
      view.set(bytes);
      if (bytes.length < this.length) view[bytes.length] = 0;
    });
  }

  /** For 'c' arrays: all the bytes (a copy). */
  get raw(): Uint8Array {
    this.checkBytes('raw');
    return this.locked(() => (this.view as unknown as Uint8Array).slice());
  }

  /** For 'c' arrays: overwrites the first bytes with `value`. */
  set raw(value: Uint8Array | string) {
    this.checkBytes('raw');
    const bytes = encodeBytes(value, 'raw');
    if (bytes.length > this.length) throw new RangeError(`raw is ${bytes.length} bytes, longer than the array (${this.length})`);
    this.locked(() => (this.view as unknown as Uint8Array).set(bytes));
  }

  protected get kind(): string {
    return 'multiproc.RawArray';
  }

  /** Describes the array for another process (see shareable.ts). */
  [reduceForTransfer](): ReducedShareable {
    const state: ArrayState = {
      name: this.block.name,
      offset: this.block.offset,
      typecode: this.typecode,
      length: this.length,
      lock: this.lock ? this.lock[reduceForTransfer]() : null,
    };
    return { kind: this.kind, state };
  }
}

/** A fixed-length typed array in shared memory whose accesses take its lock. */
export class SharedArray<C extends Typecode = Typecode> extends RawArray<C> {
  /** As RawArray, plus options.lock (true by default: a new RLock). */
  constructor(typecode: C, sizeOrValues: number | Iterable<ElementOf<C>> | string, options?: SynchronizedOptions) {
    const lock = resolveLockOption(options);
    super(typecode, sizeOrValues);
    this.lock = lock;
  }

  /**
   * The lock guarding this array. Throws if it was made with `lock: false`
   * (Python returns a bare RawArray then; here it stays a SharedArray whose
   * accesses take no lock: see the README).
   */
  getLock(): AnyLock {
    if (this.lock === undefined) throw new InvalidStateError('this SharedArray has no lock (it was created with lock: false)');
    return this.lock;
  }

  /** The same memory as a RawArray (no locking). */
  getObj(): RawArray<C> {
    return RawArray[revive]({ name: this.block.name, offset: this.block.offset, typecode: this.typecode, length: this.length, lock: null }) as RawArray<C>;
  }

  protected override get kind(): string {
    return 'multiproc.SharedArray';
  }
}

