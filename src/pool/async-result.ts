/**
 * AsyncResult: what Pool.applyAsync/mapAsync return. It is awaitable (a
 * PromiseLike) and also offers Python's ready/successful/wait/get, which
 * take the wait argument every blocking call takes (ms, or
 * `{ timeout, block, signal }`).
 */
import { parseWait, type Wait } from '../checks.ts';
import { settleWithin } from '../sync/settle-within.ts';
import { InvalidStateError, TimeoutError } from '../errors.ts';

type Outcome<T> = { ok: true; value: T } | { ok: false; error: Error };

/** The pending result of an asynchronous pool call; `await` it, or use get(). */
export class AsyncResult<T> implements PromiseLike<T> {
  private outcome: Outcome<T> | null = null;
  private readonly promise: Promise<T>;
  private settle!: (outcome: Outcome<T>) => void;

  /** @internal Made by Pool; `callback`/`errorCallback` run once the outcome is known, as in Python. */
  constructor(callback?: ((value: T) => void) | null, errorCallback?: ((error: Error) => void) | null) {
    this.promise = new Promise<T>((resolve, reject) => {
      this.settle = (outcome) => {
        if (this.outcome) return;
        this.outcome = outcome;
        if (outcome.ok) resolve(outcome.value);
        else reject(outcome.error);
        const run = outcome.ok ? () => callback?.(outcome.value) : () => errorCallback?.(outcome.error);
        try {
          run();
        } catch (error) {
          // A failing callback is the caller's bug: surface it, but never inside the pool's bookkeeping.
          queueMicrotask(() => {
            throw error;
          });
        }
      };
    });
    // Fire-and-forget use (callbacks only) must not count as an unhandled rejection.
    this.promise.catch(() => {});
  }

  /** @internal */
  resolve(value: T): void {
    this.settle({ ok: true, value });
  }

  /** @internal */
  reject(error: Error): void {
    this.settle({ ok: false, error });
  }

  /** True once the call has completed (successfully or not). */
  ready(): boolean {
    return this.outcome !== null;
  }

  /** Whether the call completed without error; throws if it is not ready yet (as Python's ValueError). */
  successful(): boolean {
    if (!this.outcome) throw new InvalidStateError('the result is not ready');
    return this.outcome.ok;
  }

  /** Waits until the result is ready, or at most the wait's timeout (ms, or `{ timeout, block, signal }`). Never rejects on timeout. */
  async wait(wait?: Wait): Promise<void> {
    await settleWithin(this.promise, parseWait(wait, 'AsyncResult.wait'));
  }

  /** The result; rejects with the task's error, or with TimeoutError if not ready within the wait's timeout (ms, or `{ timeout, block, signal }`). */
  async get(wait?: Wait): Promise<T> {
    if (!(await settleWithin(this.promise, parseWait(wait, 'AsyncResult.get')))) throw new TimeoutError();
    return this.promise;
  }

  then<A = T, B = never>(
    onFulfilled?: ((value: T) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: any) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.promise.then(onFulfilled, onRejected);
  }
}
