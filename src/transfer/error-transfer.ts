/**
 * How an exception raised in a child reaches the caller, as pickle sends it:
 * its class by reference (found again in the caller when it is module-level
 * anywhere), its message and own fields, and the remote stack, already
 * source-mapped by the child, as the `cause`.
 */
import { findClass, referenceClass, type ClassReference } from './class-reference.ts';
import { decodeFromTransfer, encodeForTransfer } from './shareable.ts';

/** An exception in a form that structured clone keeps intact. */
export interface ErrorWire {
  name: string;
  /** Name of the error's class; a stand-in class of this name is made when the class itself cannot be found. */
  className: string;
  /** The class by reference; null for built-in classes and classes that cannot be referenced. */
  classReference: ClassReference | null;
  message: string;
  /** The remote stack, as the child printed it (source maps applied there). */
  stack: string;
  /** Own enumerable fields (`code`, …), encoded for transfer. */
  fields: Record<string, unknown>;
}

const BUILTINS: Record<string, ErrorConstructor> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

function referenceErrorClass(constructor: unknown): ClassReference | null {
  if (typeof constructor !== 'function' || BUILTINS[constructor.name] === constructor) return null;
  // null for a native class (DOMException, …): the stand-in by name is the best there is.
  return referenceClass(constructor);
}

function encodeField(value: unknown, path: string): unknown {
  try {
    return encodeForTransfer(value, path);
  } catch (error) {
    // The error itself must still arrive: the field says what it held and why it was left behind.
    return `<not sent: ${(error as Error).message}>`;
  }
}

/**
 * Where decodeError keeps the wire an error was rebuilt from, so that an
 * error relayed once more (a manager's Pool passing on a worker's error)
 * keeps the class reference and stack its process could not resolve.
 */
const RELAYED = Symbol('multiproc.relayedErrorWire');

/** Child side: describes a thrown value for the caller. */
export function encodeError(error: unknown): ErrorWire {
  if (!(error instanceof Error)) {
    const message = `non-Error value thrown: ${String(error)}`;
    return { name: 'Error', className: 'Error', classReference: null, message, stack: `Error: ${message}`, fields: {} };
  }
  const fields: Record<string, unknown> = {};
  for (const key of Object.keys(error)) {
    if (key === 'name' || key === 'message' || key === 'stack') continue;
    fields[key] = encodeField((error as unknown as Record<string, unknown>)[key], `error field .${key}`);
  }
  const relayed = (error as { [RELAYED]?: ErrorWire })[RELAYED];
  const stack = relayed?.stack ?? error.stack ?? `${error.name}: ${error.message}`;
  const classReference = relayed ? relayed.classReference : referenceErrorClass(error.constructor);
  return { name: error.name, className: error.constructor?.name ?? error.name, classReference, message: error.message, stack, fields };
}

const madeClasses = new Map<string, ErrorConstructor>();

/** A stand-in class with the remote class's name, so that `err.constructor.name` still matches. */
function standIn(name: string): ErrorConstructor {
  let made = madeClasses.get(name);
  if (!made) {
    made = { [name]: class extends Error {} }[name] as unknown as ErrorConstructor;
    madeClasses.set(name, made);
  }
  return made;
}

/** Caller side: rebuilds the child's exception; `makeCause` wraps the remote stack (e.g. as a RemoteTraceback). */
export function decodeError(wire: ErrorWire, makeCause: (remoteStack: string) => Error): Error {
  const ownClass = wire.classReference ? findClass(wire.classReference) : null;
  const errorClass = ownClass ?? BUILTINS[wire.className] ?? standIn(wire.className);
  // Not the constructor: a class's constructor may take other arguments or
  // have side effects; pickle, too, rebuilds from the class and the state.
  const error = Object.create(errorClass.prototype) as Error;
  Object.defineProperty(error, 'message', { value: wire.message, writable: true, configurable: true, enumerable: false });
  if (wire.name !== Object.getPrototypeOf(error).name) {
    Object.defineProperty(error, 'name', { value: wire.name, writable: true, configurable: true, enumerable: false });
  }
  Object.assign(error, decodeFromTransfer(wire.fields));
  const cause = makeCause(wire.stack);
  Object.defineProperty(error, 'cause', { value: cause, writable: true, configurable: true, enumerable: false });
  Object.defineProperty(error, RELAYED, { value: wire, configurable: true, enumerable: false });
  Error.captureStackTrace(error, decodeError);
  return error;
}
