/**
 * The containers a manager holds: Python's dict, list and Namespace, and
 * the manager's Value and Array. Their methods are what proxies call, so
 * their names and signatures are the proxies' API (see proxies.ts). Values
 * are stored as they arrived (structured-clone data, shareables encoded), so
 * what a proxy reads back is what another one wrote.
 */
import { typecodeInfo, type TypecodeInfo } from '../shared/typecodes.ts';

/** Keys are compared as Map keys: primitives by value; an object key never matches a later copy of itself. */
export class ManagedDict<K = unknown, V = unknown> {
  private readonly map: Map<K, V>;

  constructor(initial?: Iterable<[K, V]> | Record<string, V>) {
    this.map = new Map(initial == null ? [] : isIterable(initial) ? initial : (Object.entries(initial) as [K, V][]));
  }

  get(key: K, defaultValue?: V): V | undefined {
    return this.map.has(key) ? this.map.get(key) : defaultValue;
  }

  set(key: K, value: V): void {
    this.map.set(key, value);
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  delete(key: K): boolean {
    return this.map.delete(key);
  }

  size(): number {
    return this.map.size;
  }

  clear(): void {
    this.map.clear();
  }

  keys(): K[] {
    return [...this.map.keys()];
  }

  values(): V[] {
    return [...this.map.values()];
  }

  entries(): [K, V][] {
    return [...this.map.entries()];
  }

  /** A plain Map copy (Python's dict.copy()). */
  copy(): Map<K, V> {
    return new Map(this.map);
  }

  /** Removes `key` and returns its value; without a default, a missing key throws (Python's KeyError). */
  pop(key: K, ...defaultValue: [V?]): V | undefined {
    if (this.map.has(key)) {
      const value = this.map.get(key);
      this.map.delete(key);
      return value;
    }
    if (defaultValue.length) return defaultValue[0];
    throw new RangeError(`key ${String(key)} is not in the dict`);
  }

  /** Removes and returns the last inserted entry. */
  popitem(): [K, V] {
    const last = [...this.map.entries()].pop();
    if (!last) throw new RangeError('popitem(): dictionary is empty');
    this.map.delete(last[0]);
    return last;
  }

  setdefault(key: K, defaultValue: V): V {
    if (!this.map.has(key)) this.map.set(key, defaultValue);
    return this.map.get(key) as V;
  }

  update(entries: Iterable<[K, V]> | Record<string, V>): void {
    for (const [k, v] of isIterable(entries) ? entries : (Object.entries(entries) as [K, V][])) this.map.set(k, v);
  }

  /** Adds `delta` to a numeric entry atomically (missing counts as 0), returning the new value. */
  increment(key: K, delta = 1): number {
    const next = ((this.map.get(key) as number | undefined) ?? 0) + delta;
    this.map.set(key, next as V);
    return next;
  }
}

function isIterable(value: object): value is Iterable<any> {
  return typeof (value as any)[Symbol.iterator] === 'function';
}

function indexIn(length: number, index: unknown, method: string): number {
  if (!Number.isInteger(index)) throw new TypeError(`${method}: index must be an integer, got ${String(index)}`);
  const at = (index as number) < 0 ? length + (index as number) : (index as number);
  if (at < 0 || at >= length) throw new RangeError(`${method}: list index ${String(index)} out of range`);
  return at;
}

const naturalOrder = (a: any, b: any): number => (a < b ? -1 : a > b ? 1 : 0);

export class ManagedList<T = unknown> {
  private readonly items: T[];

  constructor(initial: Iterable<T> = []) {
    this.items = [...initial];
  }

  /** Item at `index`; negative counts from the end, as in Python. */
  get(index: number): T {
    return this.items[indexIn(this.items.length, index, 'get')];
  }

  set(index: number, value: T): void {
    this.items[indexIn(this.items.length, index, 'set')] = value;
  }

  /** Appends items (Python's append/extend); returns the new length. */
  push(...values: T[]): number {
    return this.items.push(...values);
  }

  extend(values: T[]): number {
    return this.items.push(...values);
  }

  /** Removes and returns the item at `index` (default: the last). */
  pop(index = -1): T {
    if (this.items.length === 0) throw new RangeError('pop from empty list');
    return this.items.splice(indexIn(this.items.length, index, 'pop'), 1)[0];
  }

  insert(index: number, value: T): void {
    this.items.splice(index < 0 ? Math.max(0, this.items.length + index) : index, 0, value);
  }

  /** Removes the first item equal (===) to `value`; throws if there is none. */
  remove(value: T): void {
    const at = this.items.indexOf(value);
    if (at < 0) throw new RangeError('list.remove(x): x not in list');
    this.items.splice(at, 1);
  }

  index(value: T): number {
    const at = this.items.indexOf(value);
    if (at < 0) throw new RangeError(`${String(value)} is not in list`);
    return at;
  }

  count(value: T): number {
    return this.items.filter((item) => item === value).length;
  }

  length(): number {
    return this.items.length;
  }

  slice(start?: number, end?: number): T[] {
    return this.items.slice(start, end);
  }

  reverse(): void {
    this.items.reverse();
  }

  /** Sorts in natural order (numbers numerically, strings by code unit), as Python's sort(). */
  sort(options: { reverse?: boolean } = {}): void {
    this.items.sort(naturalOrder);
    if (options.reverse) this.items.reverse();
  }

  clear(): void {
    this.items.length = 0;
  }

  toArray(): T[] {
    return this.items;
  }
}

/** Python's manager.Namespace(): named attributes. */
export class ManagedNamespace {
  private readonly fields: Map<string, unknown>;

  constructor(initial: Record<string, unknown> = {}) {
    this.fields = new Map(Object.entries(initial));
  }

  get(name: string): unknown {
    if (!this.fields.has(name)) throw new RangeError(`'Namespace' object has no attribute '${name}'`);
    return this.fields.get(name);
  }

  set(name: string, value: unknown): void {
    if (typeof name !== 'string') throw new TypeError(`Namespace attribute names are strings, got ${typeof name}`);
    this.fields.set(name, value);
  }

  has(name: string): boolean {
    return this.fields.has(name);
  }

  delete(name: string): boolean {
    return this.fields.delete(name);
  }

  toObject(): Record<string, unknown> {
    return Object.fromEntries(this.fields);
  }
}

/** Python's manager.Value(typecode, value): one checked value. */
export class ManagedValue {
  private readonly info: TypecodeInfo;
  private current: number | bigint;

  constructor(
    readonly typecode: string,
    value: number | bigint,
  ) {
    this.info = typecodeInfo(typecode);
    this.current = this.info.check(value ?? this.info.zero, 'Value');
  }

  get(): number | bigint {
    return this.current;
  }

  set(value: number | bigint): void {
    this.current = this.info.check(value, 'Value');
  }

  /** Adds `delta` in the manager, so that concurrent increments are not lost; returns the new value. */
  increment(delta: number | bigint = 1): number | bigint {
    this.current = this.info.check((this.current as number) + (delta as number), 'Value');
    return this.current;
  }
}

/** Python's manager.Array(typecode, sequence): a fixed-length checked array. */
export class ManagedArray {
  private readonly info: TypecodeInfo;
  private readonly items: (number | bigint)[];

  constructor(typecode: string, sizeOrItems: number | (number | bigint)[]) {
    this.info = typecodeInfo(typecode);
    this.items =
      typeof sizeOrItems === 'number'
        ? new Array(sizeOrItems).fill(this.info.zero)
        : sizeOrItems.map((item, i) => this.info.check(item, `Array item ${i}`));
  }

  get(index: number): number | bigint {
    return this.items[indexIn(this.items.length, index, 'get')];
  }

  set(index: number, value: number | bigint): void {
    this.items[indexIn(this.items.length, index, 'set')] = this.info.check(value, `Array item ${index}`);
  }

  length(): number {
    return this.items.length;
  }

  slice(start?: number, end?: number): (number | bigint)[] {
    return this.items.slice(start, end);
  }

  toArray(): (number | bigint)[] {
    return this.items;
  }
}
