/**
 * Messages between a pool and its workers over the control channel. Each
 * wire message is an array of these, so many tasks or results share one
 * write and one deserialisation.
 */
import type { FunctionReference } from '../transfer/function-reference.ts';
import type { RemoteErrorData } from './remote-error.ts';
import { encodeForTransfer } from '../transfer/shareable.ts';

/** Parent → worker: remember function `fn` under this number. */
export interface DefineFunction {
  kind: 'fn';
  fn: number;
  ref: FunctionReference;
}

/**
 * Parent → worker: run function `fn` for several tasks in order; task k
 * has id `ids[k]`. With `chunked`, `items[k]` is task k's array of items;
 * without, every task has one item and `items[k]` is that item (the
 * chunksize-1 case then costs no array per task). With `star` each item is
 * an argument list (apply, starmap); otherwise the one argument. When
 * `lane[k]` is set, task k's items are in the worker's number lane instead
 * (`items[k]` is null), and its results go there too.
 */
export interface RunTasks {
  kind: 'tasks';
  fn: number;
  star: boolean;
  ids: number[];
  items: unknown[];
  chunked: boolean;
  lane?: Array<LaneRef | null>;
}

/** How numbers lie in a number lane: Int32 or Float64, native byte order. */
export type LaneForm = 'i32' | 'f64';

/**
 * A chunk in the worker's number lane (number-lane.ts): `length` numbers
 * in `form` from byte `at`, and room for as many Float64 results from byte
 * `results` (8-aligned).
 */
export interface LaneRef {
  at: number;
  form: LaneForm;
  length: number;
  results: number;
}

/** Parent → worker: map the number lane, shared memory segment `name`, before the tasks that use it. */
export interface AttachLane {
  kind: 'lane';
  name: string;
}

/** Parent → worker: finish queued tasks, then exit. */
export interface Stop {
  kind: 'stop';
}

export type ToWorker = DefineFunction | RunTasks | AttachLane | Stop;

/**
 * Worker → parent: results of tasks `ids`, laid out like RunTasks' items;
 * for a task whose items came in the lane, `results[k]` is the LaneForm
 * its results were written in there, or an array if they were not all numbers.
 */
export interface TasksDone {
  kind: 'ok';
  ids: number[];
  results: unknown[];
  chunked: boolean;
  /** Milliseconds each task ran, for the pool's statistics. */
  runMs: number[];
  /**
   * The worker's resident set size in bytes when it sent this, for
   * maxMemoryPerChild; only sent when that is set, as reading it costs a
   * /proc read per message, more than a chunk of tiny tasks.
   */
  rss?: number;
}

/** Worker → parent: task `id` failed (the first failing item fails its chunk, as in Python). */
export interface TaskFailed {
  kind: 'err';
  id: number;
  error: RemoteErrorData;
  runMs: number;
}

/** Worker → parent: the initializer failed; the worker exits next. */
export interface InitFailed {
  kind: 'initErr';
  error: RemoteErrorData;
}

/** Worker → parent: the finalizer failed as the worker retired; the worker exits next. */
export interface FinalizerFailed {
  kind: 'finErr';
  error: RemoteErrorData;
}

export type FromWorker = TasksDone | TaskFailed | InitFailed | FinalizerFailed;

/** Cells of the Int32Array a worker shares with its slot, read by the parent after the worker dies. */
export const CELL_RUNNING = 0;
/** 1 once the initializer has finished: a death before that is the initializer's. */
export const CELL_READY = 1;
export const CELL_COUNT = 2;

/** What a pool worker is started with. */
export interface WorkerLaunch {
  initializer: FunctionReference | null;
  initargs: unknown[];
  finalizer: FunctionReference | null;
  maxTasks: number | null;
  /** Whether results carry the worker's RSS (maxMemoryPerChild is set). */
  reportRss: boolean;
  /** Where the worker's cells live (see CELL_RUNNING). */
  cells: { name: string; offset: number };
}

/**
 * encodeForTransfer with a fast path: primitives and flat arrays of
 * primitives need neither shareable markers nor the trial serialisation,
 * and tiny tasks are dominated by exactly that cost.
 */
export function encodeValue(value: unknown, path: string): unknown {
  if (isPrimitive(value)) return value;
  if (Array.isArray(value) && value.length <= 64 && value.every(isPrimitive)) return value;
  return encodeForTransfer(value, path);
}

/** True for values that structured clone always accepts and that hold no shareable. */
export function isPrimitive(value: unknown): boolean {
  const type = typeof value;
  return value === null || (type !== 'object' && type !== 'function' && type !== 'symbol');
}

/** What a worker returns for a chunk: an array, or a typed array when its results were all numbers (number-results.ts). */
export type ChunkResults = ArrayLike<unknown> & Iterable<unknown>;
