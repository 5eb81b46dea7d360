/**
 * Waiting on a promise with a timeout, for waits that are not futex waits
 * (a process's exit, a pool result). The timeout is checked by the caller
 * with checkTimeout from ../checks.ts.
 */

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
