/** Timeouts are milliseconds everywhere; undefined or null means wait forever. */

/** Throws a TypeError naming `argument` unless `value` is a timeout in milliseconds. */
export function checkTimeout(value: unknown, argument: string): asserts value is number | null | undefined {
  if (value === undefined || value === null) return;
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
    throw new TypeError(`${argument} must be a non-negative number of milliseconds (or undefined), got ${String(value)}`);
  }
}

/** Waits for `promise`, but at most `timeoutMs`; true if it settled in time. Never rejects on timeout. */
export async function settleWithin(promise: Promise<unknown>, timeoutMs?: number | null): Promise<boolean> {
  if (timeoutMs === undefined || timeoutMs === null || timeoutMs === Infinity) {
    await promise;
    return true;
  }
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([promise.then(() => true as const), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
