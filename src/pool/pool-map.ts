/**
 * What map-like calls of Pool and ProcessPoolExecutor share: argument
 * checks that name the bad argument, chunking and encoding of inputs, and
 * the lazy, bounded iterator behind imap and imapUnordered.
 */
import { encodeForTransfer } from '../transfer/shareable.ts';
import { isPrimitive, type ChunkResults } from './pool-protocol.ts';
import type { Dispatcher, Job } from './pool-dispatcher.ts';
import { Process } from '../process/process.ts';
import { referenceFunction, type FunctionReference } from '../transfer/function-reference.ts';

/** The worker options Pool and ProcessPoolExecutor share. */
export interface WorkerOptions {
  initializer?: ((...args: any[]) => unknown) | null;
  initargs?: unknown[];
  maxTasksPerChild?: number | null;
  /** A context from getContext(): its Process class starts the workers. */
  context?: ProcessContext | null;
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
): { initializer: FunctionReference | null; initargs: unknown[]; maxTasksPerChild: number | null; ProcessClass: typeof Process } {
  const { initializer, initargs = [], maxTasksPerChild = null, context = null } = options;
  checkOptionalFunction(initializer, `${owner} option 'initializer'`);
  if (!Array.isArray(initargs)) throw new TypeError(`${owner} option 'initargs' must be an array, got ${describe(initargs)}`);
  if (
    maxTasksPerChild !== null &&
    (typeof maxTasksPerChild !== 'number' || !Number.isInteger(maxTasksPerChild) || maxTasksPerChild < 1)
  ) {
    throw new RangeError(`${owner} option 'maxTasksPerChild' must be a positive integer or null, got ${describe(maxTasksPerChild)}`);
  }
  if (context !== null && !isProcessContext(context)) {
    throw new TypeError(`${owner} option 'context' must be a Context from getContext(), got ${describe(context)}`);
  }
  return {
    initializer: initializer ? referenceFunction(initializer, 'initializer') : null,
    initargs: initargs.map((arg, i) => encodeForTransfer(arg, `${owner} option initargs[${i}]`)),
    maxTasksPerChild,
    ProcessClass: context ? context.Process : Process,
  };
}

/** Called as chunks complete: items completed so far, and the total (null when the input's length is unknown). */
export type ProgressCallback = (completed: number, total: number | null) => void;

export function checkFunction(fn: unknown, method: string): asserts fn is Function {
  if (typeof fn !== 'function') throw new TypeError(`${method}: fn must be a function, got ${describe(fn)}`);
}

export function checkObject(value: unknown, name: string): void {
  if (value !== undefined && (typeof value !== 'object' || value === null)) {
    throw new TypeError(`${name} must be an object, got ${describe(value)}`);
  }
}

export function checkChunksize(value: unknown, method: string): asserts value is number | undefined {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new RangeError(`${method}: chunksize must be a positive integer, got ${describe(value)}`);
  }
}

export function checkOptionalFunction(value: unknown, name: string): void {
  if (value !== undefined && value !== null && typeof value !== 'function') {
    throw new TypeError(`${name} must be a function, got ${describe(value)}`);
  }
}

export function checkSignal(value: unknown, name: string): asserts value is AbortSignal | null | undefined {
  if (value !== undefined && value !== null && !(value instanceof AbortSignal)) {
    throw new TypeError(`${name} must be an AbortSignal, got ${describe(value)}`);
  }
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return `an object of class ${value.constructor?.name ?? 'unknown'}`;
  return `${typeof value} ${typeof value === 'string' ? JSON.stringify(value) : String(value)}`;
}

/** The items of a synchronous iterable as an array; a TypeError naming `name` otherwise. */
export function toArray(items: unknown, name: string): unknown[] {
  if (Array.isArray(items)) return items;
  if (items !== null && typeof items === 'object' && typeof (items as Iterable<unknown>)[Symbol.iterator] === 'function') {
    return Array.from(items as Iterable<unknown>);
  }
  throw new TypeError(`${name} must be an iterable, got ${describe(items)}`);
}

/** For starmap: each item must be an argument list. */
export function argumentList(item: unknown, name: string): unknown[] {
  if (Array.isArray(item)) return item;
  if (item !== null && typeof item === 'object' && typeof (item as Iterable<unknown>)[Symbol.iterator] === 'function') {
    return Array.from(item as Iterable<unknown>);
  }
  throw new TypeError(`${name} must be an argument list (an iterable), got ${describe(item)}`);
}

/** Python's default: ceil(n / (4 × workers)), at least 1. */
export function defaultChunksize(n: number, workers: number): number {
  return Math.max(1, Math.ceil(n / (workers * 4)));
}

/** Encodes a chunk for the worker; when that fails, finds and names the exact bad item. */
export function encodeChunk(chunk: unknown[], start: number, name: string): unknown[] {
  if (ArrayBuffer.isView(chunk) || chunk.every(isPrimitive)) return chunk;
  try {
    return encodeForTransfer(chunk, name) as unknown[];
  } catch {
    return chunk.map((item, i) => encodeForTransfer(item, `${name}[${start + i}]`));
  }
}

export interface IterateOptions {
  chunksize: number;
  ordered: boolean;
  star: boolean;
  /** Chunks sent but not yet consumed, at most; bounds memory for endless inputs. */
  window: number;
  onProgress: ProgressCallback | null;
  total: number | null;
  method: string;
}

/** The lazy, bounded iterator behind imap/imapUnordered. */
export async function* iterateResults<R>(
  dispatcher: Dispatcher,
  fnId: number,
  items: Iterable<unknown> | AsyncIterable<unknown>,
  options: IterateOptions,
): AsyncGenerator<R, void, undefined> {
  const source: Iterator<unknown> | AsyncIterator<unknown> =
    Symbol.asyncIterator in items ? (items as AsyncIterable<unknown>)[Symbol.asyncIterator]() : (items as Iterable<unknown>)[Symbol.iterator]();
  const finished = new Map<number, { error: Error | null; results: ChunkResults | null }>();
  const arrivals: number[] = [];
  const jobs = new Map<number, Job>();
  let sent = 0;
  let consumed = 0;
  let itemIndex = 0;
  let completed = 0;
  let exhausted = false;
  let wake: (() => void) | null = null;

  const fill = async () => {
    while (!exhausted && sent - consumed < options.window) {
      const chunk: unknown[] = [];
      while (chunk.length < options.chunksize) {
        const step = await source.next();
        if (step.done) {
          exhausted = true;
          break;
        }
        chunk.push(options.star ? argumentList(step.value, `${options.method}: items[${itemIndex + chunk.length}]`) : step.value);
      }
      if (chunk.length === 0) break;
      const encoded = encodeChunk(chunk, itemIndex, 'items');
      itemIndex += chunk.length;
      const index = sent++;
      const size = chunk.length;
      const job = dispatcher.submit(fnId, options.star, encoded, (error, results) => {
        jobs.delete(index);
        finished.set(index, { error, results });
        if (!options.ordered) arrivals.push(index);
        completed += size;
        options.onProgress?.(completed, options.total);
        wake?.();
      });
      jobs.set(index, job);
    }
  };

  try {
    for (;;) {
      await fill();
      const index = options.ordered ? (finished.has(consumed) ? consumed : -1) : (arrivals.shift() ?? -1);
      if (index >= 0) {
        const outcome = finished.get(index)!;
        finished.delete(index);
        consumed++;
        if (outcome.error) throw outcome.error;
        for (const result of outcome.results!) yield result as R;
        continue;
      }
      if (exhausted && consumed === sent) return;
      await new Promise<void>((resolve) => (wake = resolve));
      wake = null;
    }
  } finally {
    // Stopped early (break, or an error): queued chunks are withdrawn, the input is closed.
    for (const job of jobs.values()) dispatcher.cancel(job, new Error(`${options.method} iteration was stopped`));
    if (!exhausted) await source.return?.();
  }
}
