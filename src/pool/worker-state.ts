/**
 * Per-worker state, as in mpire: what the pool's `initializer` returned in
 * this worker, for every task that runs there (a database connection, a
 * loaded model, a cache). The `finalizer` receives it when the worker retires.
 */
import { InvalidStateError } from '../errors.ts';
let state: { value: unknown } | null = null;

/** @internal Set by the pool worker after its initializer ran. */
export function setWorkerState(value: unknown): void {
  state = { value };
}

/** @internal The state, or undefined when there was no initializer. */
export function workerStateValue(): unknown {
  return state?.value;
}

/**
 * In a pool task: what the pool's `initializer` returned in this worker
 * (awaited, if it returned a promise). Throws outside a pool worker, or when
 * the pool has no initializer, so that a missing setup fails loudly.
 */
export function workerState<T>(): T {
  if (state === null) {
    throw new InvalidStateError('workerState(): no worker state here; it exists in pool tasks whose pool has an initializer');
  }
  return state.value as T;
}
