/**
 * What every pool offers over its own way of running chunks: Python's map
 * family (map, mapAsync, starmap, starmapAsync, imap, imapUnordered) and the
 * options they take. Pool runs chunks on local workers, ClusterPool as
 * BullMQ jobs; each says how through mapChunks() and iterate().
 */
import type { AsyncResult } from './async-result.ts';
import type { ProgressCallback } from './progress.ts';

/** Per-task limits: beyond Python. A task with either runs alone in its worker. */
export interface TaskOptions {
  /** Milliseconds a task (each chunk, for map) may run; then its worker is killed and it rejects with TimeoutError. */
  timeout?: number | null;
  /** Aborting withdraws a queued task, or kills the worker running it; it rejects with the signal's reason. */
  signal?: AbortSignal | null;
}

/** Options of `Pool.applyAsync`: Python-style callbacks besides the returned AsyncResult. */
export interface ApplyAsyncOptions<R> extends TaskOptions {
  /** Called with the result on success. */
  callback?: ((result: R) => void) | null;
  /** Called with the error on failure. */
  errorCallback?: ((error: Error) => void) | null;
}

/** Options of `Pool.map` and `Pool.starmap`. */
export interface MapOptions extends TaskOptions {
  /** Items per task sent to a worker; default ceil(n / (4 × workers)) as in Python. */
  chunksize?: number;
  /** Called as chunks complete with (items completed, total items). */
  onProgress?: ProgressCallback | null;
  /** Draw a progress bar on stderr (a terminal), or print a line at every tenth (not a terminal). */
  progress?: boolean;
}

/** Options of `Pool.mapAsync` and `Pool.starmapAsync`. */
export interface MapAsyncOptions<R> extends MapOptions {
  callback?: ((results: R[]) => void) | null;
  errorCallback?: ((error: Error) => void) | null;
}

/** Options of `Pool.imap` and `Pool.imapUnordered`. */
export interface ImapOptions {
  /** Items per task; default 1, as in Python. */
  chunksize?: number;
  /** Called as chunks complete with (items completed, total items or null if the input's length is unknown). */
  onProgress?: ProgressCallback | null;
  /** Draw a progress bar on stderr (a terminal), or print a line at every tenth (not a terminal). */
  progress?: boolean;
}

/** A task: any function, sync or async. */
export type Fn<A extends unknown[], R> = (...args: A) => R | PromiseLike<R>;

/** The map family, written once over the two ways a pool runs work. */
export abstract class PoolFront {
  /** `fn` over every item, in order; rejects with the first error once all chunks have run (as Python). */
  async map<T, R>(fn: Fn<[T], R>, items: Iterable<T>, options: MapOptions = {}): Promise<R[]> {
    return this.mapAsync(fn, items, options).get();
  }

  /** Like map, but returns an AsyncResult at once. */
  mapAsync<T, R>(fn: Fn<[T], R>, items: Iterable<T>, options: MapAsyncOptions<R> = {}): AsyncResult<R[]> {
    return this.mapChunks(fn, items, false, options, 'mapAsync');
  }

  /** `fn(...args)` for every argument list in `items`. */
  async starmap<A extends unknown[], R>(fn: Fn<A, R>, items: Iterable<A>, options: MapOptions = {}): Promise<R[]> {
    return this.starmapAsync(fn, items, options).get();
  }

  /** Like starmap, but returns an AsyncResult at once. */
  starmapAsync<A extends unknown[], R>(fn: Fn<A, R>, items: Iterable<A>, options: MapAsyncOptions<R> = {}): AsyncResult<R[]> {
    return this.mapChunks(fn, items, true, options, 'starmapAsync');
  }

  /**
   * Results of `fn` over `items` in order, as an async iterator. The input
   * (sync or async iterable, possibly endless) is read lazily and only a
   * bounded number of chunks is in flight.
   */
  imap<T, R>(fn: Fn<[T], R>, items: Iterable<T> | AsyncIterable<T>, options: ImapOptions = {}): AsyncGenerator<R, void, undefined> {
    return this.iterate(fn, items, options, true, 'imap');
  }

  /** Like imap, but yields results as chunks complete. */
  imapUnordered<T, R>(fn: Fn<[T], R>, items: Iterable<T> | AsyncIterable<T>, options: ImapOptions = {}): AsyncGenerator<R, void, undefined> {
    return this.iterate(fn, items, options, false, 'imapUnordered');
  }

  /** Runs `items` cut into chunks; `method` names the caller in argument errors. */
  protected abstract mapChunks<R>(fn: Function, items: Iterable<unknown>, star: boolean, options: MapAsyncOptions<R>, method: string): AsyncResult<R[]>;

  /** Streams results of `fn` over a lazily read input, in order or as they complete. */
  protected abstract iterate<R>(
    fn: Function,
    items: Iterable<unknown> | AsyncIterable<unknown>,
    options: ImapOptions,
    ordered: boolean,
    method: string,
  ): AsyncGenerator<R, void, undefined>;
}
