/**
 * The argument checks every public entry point uses, so that a bad argument
 * fails fast in the caller with one wording everywhere: the argument's name,
 * what was expected, and what was given. Also the one reading of the wait
 * argument shared by every blocking call (see the README's wait table).
 */

/** A short, human description of a value for error messages: `a number 5`, `an object of class Foo`. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'function':
      return `a function (${value.name || 'anonymous'})`;
    case 'symbol':
      return `a symbol (${String(value)})`;
    case 'string':
      return `a string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
    case 'object':
      return `an object of class ${(value as object).constructor?.name ?? 'unknown'}`;
    default:
      return `a ${typeof value} ${String(value)}`;
  }
}

/** Throws a TypeError naming `name` unless `value` is a plain options object (or undefined). */
export function checkOptions(value: unknown, name: string): asserts value is object | undefined {
  if (value !== undefined && (typeof value !== 'object' || value === null || Array.isArray(value))) {
    throw new TypeError(`${name} must be an options object, got ${describe(value)}`);
  }
}

/** Throws a TypeError naming `name` unless `value` is a boolean (or undefined). */
export function checkBoolean(value: unknown, name: string): asserts value is boolean | undefined {
  if (value !== undefined && typeof value !== 'boolean') throw new TypeError(`${name} must be a boolean, got ${describe(value)}`);
}

/** Throws a TypeError naming `name` unless `value` is a function. */
export function checkFunction(value: unknown, name: string): asserts value is (...args: never[]) => unknown {
  if (typeof value !== 'function') throw new TypeError(`${name} must be a function, got ${describe(value)}`);
}

/** Throws a TypeError naming `name` unless `value` is a function, undefined or null. */
export function checkOptionalFunction(value: unknown, name: string): void {
  if (value !== undefined && value !== null) checkFunction(value, name);
}

/** Throws a TypeError naming `name` unless `value` is an AbortSignal, undefined or null. */
export function checkSignal(value: unknown, name: string): asserts value is AbortSignal | null | undefined {
  if (value !== undefined && value !== null && !(value instanceof AbortSignal)) {
    throw new TypeError(`${name} must be an AbortSignal, got ${describe(value)}`);
  }
}

/**
 * Throws a TypeError naming `name` unless `value` is a timeout in
 * milliseconds: a number (negative means "do not wait", as in Python), or
 * undefined / null for "wait forever". NaN is refused.
 */
export function checkTimeout(value: unknown, name: string): asserts value is number | null | undefined {
  if (value === undefined || value === null) return;
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw new TypeError(`${name} must be a number of milliseconds (negative: do not wait), undefined or null (wait forever), got ${describe(value)}`);
  }
}

/** A checked timeout as the number of ms to wait: Infinity for forever, 0 for a negative timeout. */
export function timeoutMs(value: number | null | undefined): number {
  if (value === undefined || value === null) return Infinity;
  return Math.max(0, value);
}

/** Throws a TypeError naming `name` unless `value` is an object (or undefined). */
export function checkObject(value: unknown, name: string): void {
  if (value !== undefined && (typeof value !== 'object' || value === null)) {
    throw new TypeError(`${name} must be an object, got ${describe(value)}`);
  }
}

/** Throws a RangeError naming `method` unless `value` is a positive integer chunk size (or undefined). */
export function checkChunksize(value: unknown, method: string): asserts value is number | undefined {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new RangeError(`${method}: chunksize must be a positive integer, got ${describe(value)}`);
  }
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

/** The options of every blocking call: one spelling of each key everywhere. */
export interface WaitOptions {
  /** Milliseconds to wait at most; negative: do not wait; undefined, null or Infinity: forever. */
  timeout?: number | null;
  /** false: try once and do not wait (the timeout is then ignored, as in Python). Default true. */
  block?: boolean;
  /** Aborts an async wait; it then rejects with `signal.reason`. Ignored by `…Sync` forms. */
  signal?: AbortSignal;
  /** @deprecated Lock's former spelling of `block`; read only when `block` is absent. */
  blocking?: boolean;
}

/** What every blocking call accepts: a timeout in milliseconds, or WaitOptions. */
export type Wait = number | null | WaitOptions;

/** A wait argument read once: the ms to wait (0: try once, Infinity: forever) and the signal. */
export interface ParsedWait {
  timeout: number;
  signal: AbortSignal | undefined;
}

/**
 * Reads the wait argument of `method` (a number of ms, null, undefined or
 * WaitOptions), throwing errors that name the argument. `blocking` is read
 * as a deprecated alias of `block` (Lock's old spelling).
 */
export function parseWait(wait: unknown, method: string, defaultTimeout: number | null = null): ParsedWait {
  if (wait === undefined) return { timeout: timeoutMs(defaultTimeout), signal: undefined };
  if (wait === null || typeof wait === 'number') {
    checkTimeout(wait, `${method}: timeout`);
    return { timeout: timeoutMs(wait), signal: undefined };
  }
  if (typeof wait !== 'object' || Array.isArray(wait)) {
    throw new TypeError(`${method}: the wait argument must be a timeout in milliseconds or an object { timeout, block, signal }, got ${describe(wait)}`);
  }
  const { timeout, block, blocking, signal } = wait as WaitOptions;
  checkTimeout(timeout, `${method}: options.timeout`);
  checkBoolean(block, `${method}: options.block`);
  checkBoolean(blocking, `${method}: options.blocking`);
  checkSignal(signal, `${method}: options.signal`);
  const blocks = block ?? blocking ?? true;
  const ms = timeout === undefined ? timeoutMs(defaultTimeout) : timeoutMs(timeout);
  return { timeout: blocks ? ms : 0, signal: signal ?? undefined };
}
