/**
 * ProcessPoolExecutor: Python's concurrent.futures.ProcessPoolExecutor.
 * submit() returns a Future (a Promise with cancel/done/running and
 * Python's result/exception with a timeout); a worker
 * that dies abruptly breaks the executor, so pending and later work fails
 * with BrokenProcessPool, as in Python.
 */
import { cpuCount } from '../platform/cpu-count.ts';
import {
  checkChunksize,
  checkFunction,
  checkObject,
  checkOptionalFunction,
  checkTimeout,
  describe,
  parseWait,
  timeoutMs,
  toArray,
  type Wait,
} from '../checks.ts';
import { settleWithin } from '../sync/settle-within.ts';
import { BrokenProcessPool, CancelledError, InvalidStateError, TimeoutError } from '../errors.ts';
import { Dispatcher } from './pool-dispatcher.ts';
import type { Job } from './pool-job.ts';
import { encodeValue, type ChunkResults } from './pool-protocol.ts';
import { encodeChunk } from './map-chunks.ts';
import type { ProgressCallback } from './progress.ts';
import { workerSettings, type WorkerOptions } from './worker-settings.ts';
import type { PoolStats } from './pool-stats.ts';
import { SharedArguments } from './shared-arguments.ts';

/** Options for `new ProcessPoolExecutor(...)`: Python's, plus the worker options Pool has. */
export interface ProcessPoolExecutorOptions extends WorkerOptions {
  /** Number of workers; defaults to cpuCount(). */
  maxWorkers?: number | null;
}

/** The pending result of submit(): await it, or ask about its state. */
export type Future<T> = Promise<T> & {
  /** Withdraws the call if it has not started; true if it is (now) cancelled. */
  cancel(): boolean;
  cancelled(): boolean;
  /** True once the call finished, failed or was cancelled. */
  done(): boolean;
  /** True while the call has been handed to a worker and has not finished. */
  running(): boolean;
  /**
   * The call's result, waiting at most the wait's timeout (ms, or
   * `{ timeout, block, signal }`; negative or `block: false`: not at all;
   * omitted or null: no limit); rejects with the call's error
   * (CancelledError if cancelled), or with TimeoutError if not done in time.
   */
  result(wait?: Wait): Promise<T>;
  /**
   * The call's error, or null if it succeeded, waiting as result() does;
   * rejects with CancelledError if cancelled, or with TimeoutError if not
   * done in time.
   */
  exception(wait?: Wait): Promise<Error | null>;
};

/** Options of `ProcessPoolExecutor.map`. */
export interface ExecutorMapOptions {
  /** Milliseconds from the map() call after which a result not yet ready raises TimeoutError. */
  timeout?: number | null;
  /** Items per task; default 1, as in Python. */
  chunksize?: number;
  /** Called as chunks complete with (items completed, total). */
  onProgress?: ProgressCallback | null;
}

/** Options of `ProcessPoolExecutor.shutdown`. */
export interface ShutdownOptions {
  /** Wait for the workers to exit (default true). */
  wait?: boolean;
  /** Cancel calls that have not started (default false). */
  cancelFutures?: boolean;
}

/** A pool of worker processes with Python's concurrent.futures interface. */
export class ProcessPoolExecutor {
  /** Number of worker processes. */
  readonly maxWorkers: number;
  private readonly dispatcher: Dispatcher;
  private readonly jobs = new Set<Job>();
  private shuttingDown = false;
  private readonly sharedArguments = new SharedArguments();

  constructor(options: ProcessPoolExecutorOptions = {}) {
    checkObject(options, 'ProcessPoolExecutor options');
    const { maxWorkers } = options;
    if (maxWorkers !== undefined && maxWorkers !== null) {
      if (typeof maxWorkers !== 'number' || !Number.isInteger(maxWorkers)) {
        throw new TypeError(`ProcessPoolExecutor option 'maxWorkers' must be an integer, got ${describe(maxWorkers)}`);
      }
      if (maxWorkers <= 0) throw new RangeError("ProcessPoolExecutor option 'maxWorkers' must be greater than 0");
    }
    const settings = workerSettings('ProcessPoolExecutor', options);
    this.maxWorkers = maxWorkers ?? cpuCount();
    this.dispatcher = new Dispatcher({
      processes: this.maxWorkers,
      ...settings,
      namePrefix: 'ProcessPoolExecutorWorker',
      onLost: 'break',
      brokenError: (detail, cause) => new BrokenProcessPool(detail, cause ? { cause } : undefined),
    });
  }

  /** Schedules `fn(...args)` in a worker. Throws BrokenProcessPool once the executor is broken. */
  submit<A extends unknown[], R>(fn: (...args: A) => R | PromiseLike<R>, ...args: A): Future<R> {
    this.checkOpen('submit');
    checkFunction(fn, 'submit: fn');
    const fnId = this.dispatcher.functionId(fn);
    const encoded = encodeValue(this.sharedArguments.shareAll(args), 'args');
    this.dispatcher.checkRoom('submit');
    return this.schedule<R>(fnId, true, [encoded], (results) => results[0] as R);
  }

  /**
   * Results of `fn` over `items`, in order, as an async iterator. All items
   * are submitted at once (as in Python); stopping early cancels the rest.
   */
  map<T, R>(fn: (item: T) => R | PromiseLike<R>, items: Iterable<T>, options: ExecutorMapOptions = {}): AsyncGenerator<R, void, undefined> {
    this.checkOpen('map');
    checkFunction(fn, 'map: fn');
    checkObject(options, 'map: options');
    checkTimeout(options.timeout, 'map: timeout');
    checkChunksize(options.chunksize, 'map');
    checkOptionalFunction(options.onProgress, 'map: onProgress');
    const limit = timeoutMs(options.timeout);
    const deadline = limit === Infinity ? null : Date.now() + limit;
    const list = this.sharedArguments.shareItems(toArray(items, 'map: items'), false);
    const fnId = this.dispatcher.functionId(fn);
    const chunksize = options.chunksize ?? 1;
    let completed = 0;
    const futures: Array<Future<ChunkResults>> = [];
    for (let start = 0; start < list.length; start += chunksize) {
      const chunk = encodeChunk(list.slice(start, start + chunksize), start, 'items');
      const future = this.schedule<ChunkResults>(fnId, false, chunk, (results) => results);
      void future.then(
        () => options.onProgress?.((completed += chunk.length), list.length),
        () => options.onProgress?.((completed += chunk.length), list.length),
      );
      futures.push(future);
    }
    return (async function* () {
      try {
        for (const future of futures) {
          const results = deadline === null ? await future : await withDeadline(future, deadline);
          for (const result of results) yield result as R;
        }
      } finally {
        for (const future of futures) future.cancel();
      }
    })();
  }

  /** No new work; cancels queued calls if `cancelFutures`; waits for the workers if `wait` (default). */
  async shutdown(options: ShutdownOptions = {}): Promise<void> {
    checkObject(options, 'shutdown: options');
    const { wait = true, cancelFutures = false } = options;
    if (typeof wait !== 'boolean') throw new TypeError(`shutdown: wait must be a boolean, got ${describe(wait)}`);
    if (typeof cancelFutures !== 'boolean') {
      throw new TypeError(`shutdown: cancelFutures must be a boolean, got ${describe(cancelFutures)}`);
    }
    this.shuttingDown = true;
    if (cancelFutures) for (const job of this.jobs) this.dispatcher.cancel(job, new CancelledError());
    this.dispatcher.close();
    if (wait) {
      await this.dispatcher.join();
      this.sharedArguments.release();
    } else void this.dispatcher.join().then(() => this.sharedArguments.release());
  }

  /** `await using executor = new ProcessPoolExecutor()`: shutdown({ wait: true }) on scope exit. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown({ wait: true });
  }

  /** Pids of the current workers. */
  get workerPids(): number[] {
    return this.dispatcher.workerPids;
  }

  /** Counts, latency histograms (ms), utilization and restarts since the executor started. */
  stats(): PoolStats {
    return this.dispatcher.snapshot();
  }

  private checkOpen(method: string): void {
    if (this.dispatcher.broken) throw this.dispatcher.broken;
    if (this.shuttingDown) throw new InvalidStateError(`${method}: cannot schedule new futures after shutdown`);
  }

  private schedule<R>(fnId: number, star: boolean, items: unknown[], pick: (results: ChunkResults) => R): Future<R> {
    let resolve!: (value: R) => void;
    let reject!: (error: Error) => void;
    const promise = new Promise<R>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // Like Python's futures, an ignored failure is not an error of the program.
    promise.catch(() => {});
    let cancelled = false;
    const job = this.dispatcher.submit(fnId, star, items, (error, results) => {
      this.jobs.delete(job);
      if (error) {
        cancelled = error instanceof CancelledError;
        reject(error);
      } else resolve(pick(results!));
    });
    if (job.state !== 'done') this.jobs.add(job);
    return Object.assign(promise, {
      cancel: () => cancelled || this.dispatcher.cancel(job, new CancelledError()),
      cancelled: () => cancelled,
      done: () => job.state === 'done',
      running: () => job.state === 'running',
      result: async (wait?: Wait) => {
        await settledWithin(promise, wait, 'Future.result');
        return promise;
      },
      exception: async (wait?: Wait) => {
        await settledWithin(promise, wait, 'Future.exception');
        try {
          await promise;
          return null;
        } catch (error) {
          if (error instanceof CancelledError) throw error;
          return error as Error;
        }
      },
    });
  }
}

/** Waits until `promise` has settled, within the wait argument; TimeoutError if it has not. */
async function settledWithin(promise: Promise<unknown>, wait: unknown, method: string): Promise<void> {
  const parsed = parseWait(wait, method);
  if (!(await settleWithin(promise, parsed))) {
    throw new TimeoutError(`${method}: the call did not finish within ${parsed.timeout} ms`);
  }
}

async function withDeadline<T>(promise: Promise<T>, deadline: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError('executor map: a result was not ready before the timeout')), Math.max(0, deadline - Date.now()));
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}
