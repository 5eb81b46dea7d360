/**
 * Waiting on a promise with a timeout, for waits that are not futex waits
 * (a process's exit, a pool result). Argument checks live in ../checks.ts.
 */
import { describe } from '../checks.ts';

/**
 * The former check, which refuses negative timeouts: kept only for process/
 * and pool/ (not restructured yet), whose tests expect that. New code uses
 * checkTimeout from ../checks.ts, where a negative timeout means "do not wait".
 */
export function checkTimeout(value: unknown, argument: string): asserts value is number | null | undefined {
  if (value === undefined || value === null) return;
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
    throw new TypeError(`${argument} must be a non-negative number of milliseconds (or undefined), got ${describe(value)}`);
  }
}

/** Waits for `promise`, but at most `timeoutMs` (negative: not at all); true if it settled in time. Never rejects on timeout. */
export async function settleWithin(promise: Promise<unknown>, timeoutMs?: number | null): Promise<boolean> {
  if (timeoutMs === undefined || timeoutMs === null || timeoutMs === Infinity) {
    await promise;
    return true;
  }
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, timeoutMs));
  });
  try {
    return await Promise.race([promise.then(() => true as const), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
