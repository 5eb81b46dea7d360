/**
 * How the library's own objects (locks, shared values, queues, ...) cross into
 * another process. Structured clone would turn them into plain objects, so
 * before a value is serialised every shareable inside it is replaced by a
 * marker carrying its kind and a cloneable state; the receiving process
 * revives the marker with the reviver registered for that kind.
 */
import { serialize } from 'node:v8';
import { describe } from '../checks.ts';
import { UnserializableError } from '../errors.ts';

// Re-exported for process/popen-fork.ts, which imports it from here.
export { UnserializableError };
import { CLASS_INSTANCE_KIND, instantiateClass, reduceClassInstance, type ClassInstanceState } from './class-reference.ts';

/** Method by which a shareable object describes itself for another process. */
export const reduceForTransfer: unique symbol = Symbol.for('multiproc.reduceForTransfer') as never;

/** What a shareable object reduces to: a registered kind and a structured-cloneable state. */
export interface ReducedShareable {
  kind: string;
  state: unknown;
}

/** An object that can be passed to another process and re-attached there. */
export interface Shareable {
  [reduceForTransfer](): ReducedShareable;
}

const MARKER = '__multiproc_shareable__';
const revivers = new Map<string, (state: any) => unknown>();

/**
 * Key of the static method through which a library class rebuilds an
 * instance in the receiving process from the state its [reduceForTransfer]
 * gave: the one revive path, so public constructors only ever create.
 */
export const revive: unique symbol = Symbol('multiproc.revive') as never;

/** A class whose instances travel: `static [revive](state)` rebuilds one. */
export interface Revivable<S = any> {
  [revive](state: S): unknown;
}

/**
 * An instance of `cls` made without running its constructor, for a static
 * [revive] to attach to existing shared state (through a private method that
 * sets every field: field initializers do not run here).
 */
export function uninitialized<T extends object>(cls: abstract new (...args: any[]) => T): T {
  return Object.create(cls.prototype) as T;
}

/** Registers how a kind of shareable object is rebuilt in the receiving process: a function, or a class with a static [revive]. */
export function registerShareable(kind: string, how: ((state: any) => unknown) | Revivable): void {
  revivers.set(kind, typeof how === 'function' && !(revive in how) ? (how as (state: any) => unknown) : (state) => (how as Revivable)[revive](state));
}

export function isShareable(value: unknown): value is Shareable {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Partial<Shareable>)[reduceForTransfer] === 'function'
  );
}

/**
 * Returns `value` with every shareable replaced by a marker, ready for
 * structured clone. Throws UnserializableError naming the first value that
 * structured clone would reject, with its path under `path`.
 */
export function encodeForTransfer(value: unknown, path: string): unknown {
  const encoded = encode(value, path, new Map());
  serializeEncoded(encoded, path);
  return encoded;
}

/**
 * encodeForTransfer and v8.serialize in one: for callers that send the bytes
 * themselves, so that the value is not serialised once to check and again to send.
 */
export function serializeForTransfer(value: unknown, path: string, write: (encoded: unknown) => Buffer = serialize): Buffer {
  return serializeEncoded(encode(value, path, new Map()), path, write);
}

function serializeEncoded(encoded: unknown, path: string, write: (encoded: unknown) => Buffer = serialize): Buffer {
  try {
    return write(encoded);
  } catch (error) {
    throw new UnserializableError(path, (error as Error).message);
  }
}

function encode(value: unknown, path: string, seen: Map<object, unknown>): unknown {
  if (typeof value === 'function' || typeof value === 'symbol') {
    throw new UnserializableError(path, `it is ${describe(value)}, which structured clone does not accept`);
  }
  if (typeof value !== 'object' || value === null) return value;
  if (seen.has(value)) return seen.get(value);
  if (isShareable(value)) {
    const reduced = value[reduceForTransfer]();
    const marker = { [MARKER]: reduced };
    seen.set(value, marker);
    return marker;
  }
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof SharedArrayBuffer) return value;
  if (value instanceof Date || value instanceof RegExp || value instanceof Error) return value;
  if (value instanceof Promise || value instanceof WeakMap || value instanceof WeakSet) {
    throw new UnserializableError(path, `it is ${describe(value)}, which structured clone does not accept`);
  }
  if (Array.isArray(value)) {
    const copy: unknown[] = [];
    seen.set(value, copy);
    for (let i = 0; i < value.length; i++) copy[i] = encode(value[i], `${path}[${i}]`, seen);
    return copy;
  }
  if (value instanceof Map) {
    const copy = new Map();
    seen.set(value, copy);
    let i = 0;
    for (const [k, v] of value) {
      copy.set(encode(k, `${path}.<key ${i}>`, seen), encode(v, `${path}.get(${String(k)})`, seen));
      i++;
    }
    return copy;
  }
  if (value instanceof Set) {
    const copy = new Set();
    seen.set(value, copy);
    let i = 0;
    for (const v of value) copy.add(encode(v, `${path}.<item ${i++}>`, seen));
    return copy;
  }
  // issue 11: a class instance travels with its class by reference (class-reference.ts).
  const instance = reduceClassInstance(value);
  if (instance && 'refusal' in instance) throw new UnserializableError(path, instance.refusal);
  if (instance) {
    const marker = { [MARKER]: { kind: CLASS_INSTANCE_KIND, state: instance.state } };
    seen.set(value, marker);
    instance.state.fields = encode(instance.state.fields, path, seen) as Record<string, unknown>;
    return marker;
  }
  const copy: Record<string, unknown> = {};
  seen.set(value, copy);
  for (const key of Object.keys(value)) {
    copy[key] = encode((value as Record<string, unknown>)[key], `${path}.${key}`, seen);
  }
  return copy;
}

/** Rebuilds the shareables that encodeForTransfer replaced by markers. */
export function decodeFromTransfer(value: unknown): unknown {
  return decode(value, new Map());
}

function decode(value: unknown, seen: Map<object, unknown>): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (seen.has(value)) return seen.get(value);
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof SharedArrayBuffer) return value;
  if (value instanceof Date || value instanceof RegExp || value instanceof Error) return value;
  if (Object.prototype.hasOwnProperty.call(value, MARKER)) {
    const { kind, state } = (value as Record<string, ReducedShareable>)[MARKER];
    if (kind === CLASS_INSTANCE_KIND) {
      // issue 11: the instance exists before its fields are decoded, for cycles through it.
      const instance = instantiateClass(state as ClassInstanceState);
      seen.set(value, instance);
      return Object.assign(instance, decode((state as ClassInstanceState).fields, seen));
    }
    const revive = revivers.get(kind);
    if (!revive) throw new TypeError(`no reviver is registered for shareable kind '${kind}'`);
    const revived = revive(state);
    seen.set(value, revived);
    return revived;
  }
  if (Array.isArray(value)) {
    seen.set(value, value);
    for (let i = 0; i < value.length; i++) value[i] = decode(value[i], seen);
    return value;
  }
  if (value instanceof Map) {
    seen.set(value, value);
    for (const [k, v] of value) value.set(k, decode(v, seen));
    return value;
  }
  if (value instanceof Set) {
    seen.set(value, value);
    const items = [...value].map((v) => decode(v, seen));
    value.clear();
    for (const v of items) value.add(v);
    return value;
  }
  seen.set(value, value);
  for (const key of Object.keys(value)) {
    (value as Record<string, unknown>)[key] = decode((value as Record<string, unknown>)[key], seen);
  }
  return value;
}
