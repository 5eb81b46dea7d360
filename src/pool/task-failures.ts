/**
 * How the pool words a task that did not finish normally: stopped by an
 * AbortSignal, or lost with the worker that ran it.
 */
import { constants } from 'node:os';
import { MultiprocError } from '../errors.ts';

/** The error for a task stopped by `signal`: its reason, or an AbortError (code ERR_MP_ABORTED). */
export function abortError(signal: AbortSignal): Error {
  const reason = signal.reason;
  if (reason instanceof Error) return reason;
  const error = new MultiprocError('ERR_MP_ABORTED', reason === undefined ? 'the task was aborted' : `the task was aborted: ${String(reason)}`);
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
