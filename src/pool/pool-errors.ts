/**
 * Errors of pools and executors, and how a task's exception crosses back to
 * the caller: same class name and message, custom fields kept, remote stack
 * attached as `cause` (Python's RemoteTraceback).
 */
import { constants } from 'node:os';
import { decodeError, encodeError, type ErrorWire } from '../transfer/error-transfer.ts';

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

// issue 11 (transfer): errors cross with their own class, see src/transfer/error-transfer.ts.
/** A worker's exception in a form that structured clone keeps intact. */
export type RemoteErrorData = ErrorWire;

/** Worker side: describes a thrown value for the parent. */
export const describeRemoteError = (error: unknown): RemoteErrorData => encodeError(error);

/** Parent side: rebuilds the worker's exception, its own class when found, the remote stack as `cause`. */
export const reviveRemoteError = (data: RemoteErrorData): Error => decodeError(data, (stack) => new RemoteTraceback(stack));

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

