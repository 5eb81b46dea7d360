/**
 * Waiting on a promise with a timeout, for waits that are not futex waits
 * (a process's exit, a pool result). The wait argument is read by the caller
 * with parseWait from ../checks.ts, as every blocking call reads it.
 */
import type { ParsedWait } from '../checks.ts';

/**
 * Waits for `promise`, but at most `wait.timeout` ms (0: only if it has
 * settled already; Infinity: no limit); true if it settled in time. Never
 * rejects on timeout; rejects with `wait.signal.reason` if the signal aborts.
 */
export async function settleWithin(promise: Promise<unknown>, wait: ParsedWait): Promise<boolean> {
  const { timeout, signal } = wait;
  signal?.throwIfAborted();
  const settled = promise.then(() => true as const, () => true as const);
  if (timeout === Infinity && !signal) return settled;
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const stop = new Promise<false>((resolve, reject) => {
    if (timeout !== Infinity) timer = setTimeout(() => resolve(false), timeout);
    if (signal) {
      onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
    }
  });
  try {
    return await Promise.race([settled, stop]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal!.removeEventListener('abort', onAbort);
  }
}
