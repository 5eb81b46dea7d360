/**
 * The worker options Pool and ProcessPoolExecutor share, checked in the
 * caller and turned into what the dispatcher and the workers need.
 */
import { checkOptionalCount, checkOptionalFunction, describe } from '../checks.ts';
import { Process } from '../process/process.ts';
import { encodeForTransfer } from '../transfer/shareable.ts';
import { referenceFunction } from '../transfer/function-reference.ts';
import type { WorkerSettings } from './pool-slot.ts';

/** The worker options Pool and ProcessPoolExecutor share. */
export interface WorkerOptions {
  /** Module-level function each worker runs once at start, with `initargs`; its result is the worker's state (see workerState()). */
  initializer?: ((...args: any[]) => unknown) | null;
  initargs?: unknown[];
  /** Module-level function a worker runs as it retires normally (close, maxTasksPerChild, recycling, idle exit), given its state. */
  finalizer?: ((state: any) => unknown) | null;
  /** A worker exits and is replaced after this many tasks (chunks); default: never. */
  maxTasksPerChild?: number | null;
  /** A worker whose resident memory passes this many bytes is replaced, between tasks; default: never. */
  maxMemoryPerChild?: number | null;
  /** A context from getContext(): its Process class starts the workers. */
  context?: ProcessContext | null;
  /** Idle workers exit after this many milliseconds and start again when work arrives; default: never. */
  idleTimeout?: number | null;
  /** At most this many tasks may wait for a worker; `apply`/`submit` beyond it throw QueueFullError. Default: no limit. */
  maxQueue?: number | null;
}

/**
 * What a pool needs of a Context: the Process class bound to its start
 * method. Typed structurally so that the pool layer does not import the
 * context module, which sits above it.
 */
export interface ProcessContext {
  readonly Process: typeof Process;
}

function isProcessContext(value: unknown): value is ProcessContext {
  if (typeof value !== 'object' || value === null) return false;
  const ProcessClass = (value as { Process?: unknown }).Process;
  return typeof ProcessClass === 'function' && (ProcessClass === Process || ProcessClass.prototype instanceof Process);
}

/** Checks the shared worker options of `owner` ('Pool', ...) and prepares them for the workers. */
export function workerSettings(
  owner: string,
  options: WorkerOptions,
): WorkerSettings & { idleTimeout: number | null; maxQueue: number | null } {
  const { initializer, initargs = [], finalizer, maxTasksPerChild = null, maxMemoryPerChild = null, context = null } = options;
  const { idleTimeout = null, maxQueue = null } = options;
  checkOptionalFunction(initializer, `${owner} option 'initializer'`);
  checkOptionalFunction(finalizer, `${owner} option 'finalizer'`);
  if (!Array.isArray(initargs)) throw new TypeError(`${owner} option 'initargs' must be an array, got ${describe(initargs)}`);
  checkOptionalCount(maxTasksPerChild, `${owner} option 'maxTasksPerChild'`);
  checkOptionalCount(maxMemoryPerChild, `${owner} option 'maxMemoryPerChild'`);
  checkOptionalCount(maxQueue, `${owner} option 'maxQueue'`);
  if (idleTimeout !== null && (typeof idleTimeout !== 'number' || !(idleTimeout >= 0) || idleTimeout === Infinity)) {
    throw new RangeError(`${owner} option 'idleTimeout' must be a finite number of milliseconds >= 0 or null, got ${describe(idleTimeout)}`);
  }
  if (context !== null && !isProcessContext(context)) {
    throw new TypeError(`${owner} option 'context' must be a Context from getContext(), got ${describe(context)}`);
  }
  return {
    initializer: initializer ? referenceFunction(initializer, 'initializer') : null,
    initargs: initargs.map((arg, i) => encodeForTransfer(arg, `${owner} option initargs[${i}]`)),
    finalizer: finalizer ? referenceFunction(finalizer, 'finalizer') : null,
    maxTasksPerChild,
    maxMemoryPerChild,
    ProcessClass: context ? context.Process : Process,
    idleTimeout,
    maxQueue,
  };
}
