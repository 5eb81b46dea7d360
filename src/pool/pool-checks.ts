/**
 * Argument checks shared by Pool, ProcessPoolExecutor (and the cluster
 * pool): each names the bad argument and what was expected, so that a
 * mistake fails in the caller, not in a worker.
 */

/** A short description of a bad value, for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return `an object of class ${value.constructor?.name ?? 'unknown'}`;
  return `${typeof value} ${typeof value === 'string' ? JSON.stringify(value) : String(value)}`;
}

export function checkFunction(fn: unknown, method: string): asserts fn is Function {
  if (typeof fn !== 'function') throw new TypeError(`${method}: fn must be a function, got ${describe(fn)}`);
}

export function checkObject(value: unknown, name: string): void {
  if (value !== undefined && (typeof value !== 'object' || value === null)) {
    throw new TypeError(`${name} must be an object, got ${describe(value)}`);
  }
}

export function checkChunksize(value: unknown, method: string): asserts value is number | undefined {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new RangeError(`${method}: chunksize must be a positive integer, got ${describe(value)}`);
  }
}

export function checkOptionalFunction(value: unknown, name: string): void {
  if (value !== undefined && value !== null && typeof value !== 'function') {
    throw new TypeError(`${name} must be a function, got ${describe(value)}`);
  }
}

export function checkSignal(value: unknown, name: string): asserts value is AbortSignal | null | undefined {
  if (value !== undefined && value !== null && !(value instanceof AbortSignal)) {
    throw new TypeError(`${name} must be an AbortSignal, got ${describe(value)}`);
  }
}

export function checkOptionalBoolean(value: unknown, name: string): asserts value is boolean | undefined {
  if (value !== undefined && typeof value !== 'boolean') throw new TypeError(`${name} must be a boolean, got ${describe(value)}`);
}

/** A positive integer, or null/undefined for "no limit". */
export function checkOptionalCount(value: unknown, name: string): asserts value is number | null | undefined {
  if (value === undefined || value === null) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a positive integer or null, got ${describe(value)}`);
  }
}

/** A worker count: a positive integer (null/undefined: the default). */
export function checkProcesses(value: unknown, name: string): asserts value is number | null | undefined {
  if (value === undefined || value === null) return;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new TypeError(`${name} must be an integer, got ${describe(value)}`);
  if (value < 1) throw new RangeError(`${name}: Number of processes must be at least 1, got ${value}`);
}

/** The items of a synchronous iterable as an array; a TypeError naming `name` otherwise. */
export function toArray(items: unknown, name: string): unknown[] {
  if (Array.isArray(items)) return items;
  if (items !== null && typeof items === 'object' && typeof (items as Iterable<unknown>)[Symbol.iterator] === 'function') {
    return Array.from(items as Iterable<unknown>);
  }
  throw new TypeError(`${name} must be an iterable, got ${describe(items)}`);
}

/** For starmap: each item must be an argument list. */
export function argumentList(item: unknown, name: string): unknown[] {
  if (Array.isArray(item)) return item;
  if (item !== null && typeof item === 'object' && typeof (item as Iterable<unknown>)[Symbol.iterator] === 'function') {
    return Array.from(item as Iterable<unknown>);
  }
  throw new TypeError(`${name} must be an argument list (an iterable), got ${describe(item)}`);
}
