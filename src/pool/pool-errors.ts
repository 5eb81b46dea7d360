/**
 * Errors of pools and executors, and how a task's exception crosses back to
 * the caller: same class name and message, custom fields kept, remote stack
 * attached as `cause` (Python's RemoteTraceback).
 */
import { constants } from 'node:os';
import { serialize } from 'node:v8';

/** Raised by AsyncResult.get() and executor map when a result is not ready in time (multiprocessing.TimeoutError). */
export class TimeoutError extends Error {
  constructor(message = 'the result was not ready in time') {
    super(message);
    this.name = 'TimeoutError';
  }
}

/** A pool worker died (killed, crashed, process.exit) while it held the task. */
export class WorkerDiedError extends Error {
  constructor(
    message: string,
    /** Python's convention: exit status, or -N after signal N. */
    readonly exitCode: number | null,
  ) {
    super(message);
    this.name = 'WorkerDiedError';
  }
}

/** The executor cannot run tasks any more: a worker died abruptly or an initializer failed. */
export class BrokenProcessPool extends Error {
  constructor(message = 'A child process terminated abruptly, the process pool is not usable anymore') {
    super(message);
    this.name = 'BrokenProcessPool';
  }
}

/** A Future was cancelled before it ran. */
export class CancelledError extends Error {
  constructor(message = 'the future was cancelled') {
    super(message);
    this.name = 'CancelledError';
  }
}

/** The stack of an exception raised in a worker; attached as `cause` of the re-thrown error. */
export class RemoteTraceback extends Error {
  constructor(stack: string) {
    super(stack);
    this.name = 'RemoteTraceback';
    this.stack = `RemoteTraceback:\n"""\n${stack}\n"""`;
  }
}

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

/** The error for a task stopped by `signal`: its reason, or an AbortError. */
export function abortError(signal: AbortSignal): Error {
  const reason = signal.reason;
  if (reason instanceof Error) return reason;
  const error = new Error(reason === undefined ? 'the task was aborted' : `the task was aborted: ${String(reason)}`);
  error.name = 'AbortError';
  return error;
}

/** "exited with code N" or "was killed by SIGNAME (exit code -N)". */
export function describeExit(code: number | null): string {
  if (code === null) return 'exited';
  if (code < 0) {
    const name = Object.entries(constants.signals).find(([, n]) => n === -code)?.[0] ?? `signal ${-code}`;
    return `was killed by ${name} (exit code ${code})`;
  }
  return `exited with code ${code}`;
}

