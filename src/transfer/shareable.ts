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
import {
  CLASS_INSTANCE_KIND,
  instantiateClass,
  reduceClassInstance,
  type ClassInstanceState,
  type ClassReference,
} from './class-reference.ts';
import { boundParts } from './inspector-session.ts';
import { referenceFunctionValue, type FunctionReference } from './function-site.ts';
import { findLoadedFunction } from './function-lookup.ts';

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
/** Kind under which functions inside values are marked: by reference, as targets travel (function-site.ts). */
const FUNCTION_KIND = 'multiproc.function';

interface FunctionState {
  reference: FunctionReference;
  /** Where the sender had it, for the receiver's error when it cannot find it. */
  path: string;
  /** Encoded `thisArg` and arguments of `fn.bind(thisArg, ...args)`, functools.partial's parts. */
  bound?: { thisArg: unknown; args: unknown };
}
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
export function encodeForTransfer(value: unknown, path: string, functions?: FunctionReference[]): unknown {
  const encoded = encode(value, path, new Map(), functions);
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

type Bound = { target: Function; thisArg: unknown; args: unknown[] } | null;
// boundParts asks the inspector; a function's answer never changes.
const boundness = new WeakMap<Function, Bound>();

/** A function inside a value travels by reference; `functions` collects the references for the receiver to import. */
function encodeFunction(fn: Function, path: string, seen: Map<object, unknown>, functions?: FunctionReference[]): unknown {
  let bound = boundness.get(fn);
  if (bound === undefined) {
    bound = boundParts(fn);
    boundness.set(fn, bound);
  }
  const found = referenceFunctionValue(bound ? bound.target : fn);
  if ('refusal' in found) throw new UnserializableError(path, found.refusal);
  const state: FunctionState = { reference: found.reference, path };
  const marker = { [MARKER]: { kind: FUNCTION_KIND, state } };
  seen.set(fn, marker);
  functions?.push(found.reference);
  if (bound) {
    state.bound = {
      thisArg: encode(bound.thisArg, `${path} bound this`, seen, functions),
      args: encode(bound.args, `${path} bound arguments`, seen, functions),
    };
  }
  return marker;
}

function encode(value: unknown, path: string, seen: Map<object, unknown>, functions?: FunctionReference[]): unknown {
  if (typeof value === 'function') {
    return seen.get(value) ?? encodeFunction(value, path, seen, functions);
  }
  if (typeof value === 'symbol') {
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
    for (let i = 0; i < value.length; i++) copy[i] = encode(value[i], `${path}[${i}]`, seen, functions);
    return copy;
  }
  if (value instanceof Map) {
    const copy = new Map();
    seen.set(value, copy);
    let i = 0;
    for (const [k, v] of value) {
      copy.set(encode(k, `${path}.<key ${i}>`, seen, functions), encode(v, `${path}.get(${String(k)})`, seen, functions));
      i++;
    }
    return copy;
  }
  if (value instanceof Set) {
    const copy = new Set();
    seen.set(value, copy);
    let i = 0;
    for (const v of value) copy.add(encode(v, `${path}.<item ${i++}>`, seen, functions));
    return copy;
  }
  // issue 11: a class instance travels with its class by reference (class-reference.ts).
  const instance = reduceClassInstance(value);
  if (instance && 'refusal' in instance) throw new UnserializableError(path, instance.refusal);
  if (instance) {
    const marker = { [MARKER]: { kind: CLASS_INSTANCE_KIND, state: instance.state } };
    seen.set(value, marker);
    instance.state.fields = encode(instance.state.fields, path, seen, functions) as Record<string, unknown>;
    return marker;
  }
  // A value encoded before (a pool's initargs inside its worker's launch
  // argument) still tells the receiver which modules to import.
  if (functions && Object.prototype.hasOwnProperty.call(value, MARKER)) functions.push(...functionReferencesIn(value));
  const copy: Record<string, unknown> = {};
  seen.set(value, copy);
  for (const key of Object.keys(value)) {
    copy[key] = encode((value as Record<string, unknown>)[key], `${path}.${key}`, seen, functions);
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
    if (kind === FUNCTION_KIND) {
      const revived = decodeFunction(state as FunctionState, seen);
      seen.set(value, revived);
      return revived;
    }
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

/**
 * Finds a function of a value among what this process has loaded (the
 * receiver imports the modules first where it can wait: importFunctionModules).
 */
function decodeFunction(state: FunctionState, seen: Map<object, unknown>): Function {
  const fn = findLoadedFunction(state.reference, state.path);
  if (!state.bound) return fn;
  const args = decode(state.bound.args, seen) as unknown[];
  return fn.bind(decode(state.bound.thisArg, seen), ...args);
}

/** The references of the functions inside an encoded value (not walking into typed arrays or primitives). */
export function functionReferencesIn(encoded: unknown): FunctionReference[] {
  return definitionsIn(encoded).functions;
}

/** The functions and classes an encoded value names by reference: what its receiver must find or import. */
export function definitionsIn(encoded: unknown): { functions: FunctionReference[]; classes: ClassReference[] } {
  const found: FunctionReference[] = [];
  const classes: ClassReference[] = [];
  const seen = new Set<object>();
  const visit = (value: unknown): void => {
    if (typeof value !== 'object' || value === null || seen.has(value) || ArrayBuffer.isView(value)) return;
    seen.add(value);
    if (value instanceof Map) {
      for (const [k, v] of value) (visit(k), visit(v));
    } else if (value instanceof Set || Array.isArray(value)) {
      for (const v of value) visit(v);
    } else if (Object.prototype.hasOwnProperty.call(value, MARKER)) {
      const { kind, state } = (value as Record<string, ReducedShareable>)[MARKER];
      if (kind === FUNCTION_KIND) {
        found.push((state as FunctionState).reference);
        visit((state as FunctionState).bound);
      } else if (kind === CLASS_INSTANCE_KIND) {
        classes.push((state as ClassInstanceState).classReference);
        visit((state as ClassInstanceState).fields);
      }
    } else if (!(value instanceof Date || value instanceof RegExp || value instanceof Error || value instanceof ArrayBuffer)) {
      for (const key of Object.keys(value)) visit((value as Record<string, unknown>)[key]);
    }
  };
  visit(encoded);
  return { functions: found, classes };
}
