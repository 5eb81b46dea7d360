/**
 * One algorithm, two ways to wait. Each blocking primitive is written once as
 * a generator that yields the futex waits it needs; runSync drives it with
 * blocking futexWait (synchronous code, children), runAsync with
 * futexWaitAsync (never blocks the event loop).
 */
import { futexWait, futexWaitAsync, futexWake, type FutexWaitResult } from '../platform/native.ts';

/** A futex wait a plan asks its driver to perform. */
export interface WaitRequest {
  i32: Int32Array;
  index: number;
  expected: number;
  timeoutMs: number;
}

/** A blocking algorithm: yields waits, receives their results, returns its outcome. */
export type WaitPlan<T> = Generator<WaitRequest, T, FutexWaitResult>;

/**
 * Waits longer than this are cut into slices so that waiters can notice an
 * owner that died without waking them (see owner-liveness.ts).
 */
export const OWNER_CHECK_SLICE_MS = 100;

/** Runs a plan, blocking the calling thread in each wait. */
export function runSync<T>(plan: WaitPlan<T>): T {
  let step = plan.next();
  while (!step.done) {
    const { i32, index, expected, timeoutMs } = step.value;
    step = plan.next(futexWait(i32, index, expected, timeoutMs));
  }
  return step.value;
}

/**
 * Runs a plan without blocking the event loop. An abort is thrown into the
 * plan at its current wait so it can restore shared state; waits it yields
 * after that run to completion without the signal.
 */
export async function runAsync<T>(plan: WaitPlan<T>, signal?: AbortSignal): Promise<T> {
  let active = signal;
  let step = plan.next();
  while (!step.done) {
    const { i32, index, expected, timeoutMs } = step.value;
    let result: FutexWaitResult;
    try {
      result = await futexWaitAsync(i32, index, expected, timeoutMs, { signal: active });
    } catch (reason) {
      active = undefined;
      step = plan.throw(reason);
      continue;
    }
    if (active?.aborted) {
      // This wait consumed a wake meant for someone; pass it on before leaving.
      if (result === 'ok') futexWake(i32, index, 1);
      const reason: unknown = active.reason;
      active = undefined;
      step = plan.throw(reason);
      continue;
    }
    step = plan.next(result);
  }
  return step.value;
}

/** A point in time after which a wait gives up. */
export class Deadline {
  private readonly end: number;

  constructor(timeoutMs: number) {
    this.end = timeoutMs === Infinity ? Infinity : performance.now() + timeoutMs;
  }

  /** Milliseconds left (Infinity for no deadline, 0 once passed). */
  remaining(): number {
    if (this.end === Infinity) return Infinity;
    return Math.max(0, this.end - performance.now());
  }

  /** The next wait's length: what remains, capped at `slice`. */
  slice(slice: number): number {
    return Math.min(this.remaining(), slice);
  }
}
