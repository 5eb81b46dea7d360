/**
 * How a task's exception crosses back to the caller: same class name and
 * message, custom fields kept, the remote stack attached as `cause`
 * (Python's RemoteTraceback).
 */
import { serialize } from 'node:v8';
import { RemoteTraceback } from '../errors.ts';

/** A worker's exception in a form that structured clone keeps intact. */
export interface RemoteErrorData {
  name: string;
  className: string;
  message: string;
  stack: string;
  fields: Record<string, unknown>;
}

/** Worker side: describes a thrown value for the parent. */
export function describeRemoteError(error: unknown): RemoteErrorData {
  if (!(error instanceof Error)) {
    return { name: 'Error', className: 'Error', message: `non-Error value thrown: ${String(error)}`, stack: '', fields: {} };
  }
  const fields: Record<string, unknown> = {};
  for (const key of Object.keys(error)) {
    if (key === 'name' || key === 'message' || key === 'stack') continue;
    const value = (error as unknown as Record<string, unknown>)[key];
    try {
      serialize(value);
      fields[key] = value;
    } catch {
      // A field structured clone rejects is shown rather than lost.
      fields[key] = `<unserialisable ${typeof value}>`;
    }
  }
  return {
    name: error.name,
    className: error.constructor?.name ?? error.name,
    message: error.message,
    stack: error.stack ?? `${error.name}: ${error.message}`,
    fields,
  };
}

const builtins: Record<string, ErrorConstructor> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};
const madeClasses = new Map<string, ErrorConstructor>();

/** A stand-in class with the remote class's name, so `err.constructor.name` matches. */
function classNamed(name: string): ErrorConstructor {
  const builtin = builtins[name];
  if (builtin) return builtin;
  let made = madeClasses.get(name);
  if (!made) {
    made = { [name]: class extends Error {} }[name] as unknown as ErrorConstructor;
    madeClasses.set(name, made);
  }
  return made;
}

/** Parent side: rebuilds the worker's exception to throw in the caller. */
export function reviveRemoteError(data: RemoteErrorData): Error {
  const error = new (classNamed(data.className))(data.message);
  Object.defineProperty(error, 'name', { value: data.name, writable: true, configurable: true, enumerable: false });
  Object.assign(error, data.fields);
  (error as Error & { cause?: unknown }).cause = new RemoteTraceback(data.stack);
  return error;
}
