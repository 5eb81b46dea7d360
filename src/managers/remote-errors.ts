/**
 * Turns an error report from the manager back into an error in the caller:
 * the library's own error classes (Empty, Full, BrokenBarrierError, ...) come
 * back as themselves, so that `instanceof` works as in Python, where the
 * manager re-raises the original exception; any other class becomes a
 * RemoteError naming it. Either way the manager's stack is kept.
 */
import { RemoteError, ReferentGoneError } from '../errors.ts';
import { Empty, Full } from '../errors.ts';
import { BrokenBarrierError } from '../errors.ts';
import { AcquireTimeoutError } from '../errors.ts';
import { RemoteTraceback } from '../errors.ts';
import { decodeError } from '../transfer/error-transfer.ts';
import type { ErrorReport } from './protocol.ts';

const KNOWN: Record<string, (message: string) => Error> = {
  Empty: (message) => new Empty(message),
  Full: (message) => new Full(message),
  BrokenBarrierError: () => new BrokenBarrierError(),
  AcquireTimeoutError: (message) => Object.assign(new AcquireTimeoutError('it'), { message }),
  ReferentGoneError: (message) => new ReferentGoneError(message),
};

export function errorFromReport(report: ErrorReport): Error {
  if (typeof report !== 'object' || report === null) return new RemoteError('Error', String(report), '');
  // A Pool task's error: its own class, the worker's stack as the cause, as a local Pool gives it.
  if (report.wire) return decodeError(report.wire, (stack) => new RemoteTraceback(stack));
  const make = KNOWN[report.name];
  if (!make) return new RemoteError(report.name, report.message, report.stack);
  const error = make(report.message);
  error.stack = `${error.stack}\n--- remote stack (manager) ---\n${report.stack}`;
  return error;
}
