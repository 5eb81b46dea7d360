/**
 * Pool: Python's multiprocessing.Pool for Node. Workers are child processes
 * started through Process (so any start method or context works); tasks are
 * module-level functions sent by reference, their arguments and results
 * cross by structured clone plus multiproc's shareable objects.
 *
 * Beyond Python: a worker that dies mid-task is replaced and the task
 * rejects with WorkerDiedError; tasks may have a timeout or an AbortSignal
 * (a running task is stopped by replacing its worker); map and imap report
 * progress.
 */
import { cpuCount } from '../platform/cpu-count.ts';
import {
  argumentList,
  checkBoolean,
  checkChunksize,
  checkFunction,
  checkObject,
  checkOptionalFunction,
  checkProcesses,
  checkSignal,
  checkTimeout,
  describe,
  timeoutMs,
  toArray,
} from '../checks.ts';
import { BrokenProcessPool, InvalidStateError, MultiprocError } from '../errors.ts';
import { AsyncResult } from './async-result.ts';
import { Dispatcher } from './pool-dispatcher.ts';
import { encodeValue } from './pool-protocol.ts';
import { defaultChunksize, MapResults, prepareChunk } from './map-chunks.ts';
import { PACK_MIN, PackingSpace } from './number-results.ts';
import { iterateResults } from './imap-iterator.ts';
import { progressReporter, type ProgressCallback } from './progress.ts';
import { workerSettings, type WorkerOptions } from './worker-settings.ts';
import type { PoolStats } from './pool-stats.ts';
import { SharedArguments } from './shared-arguments.ts';
import {
  PoolFront,
  type ApplyAsyncOptions,
  type Fn,
  type ImapOptions,
  type MapAsyncOptions,
  type TaskOptions,
} from './pool-front.ts';

/** Options for `new Pool(...)`: Python's Pool arguments, plus worker state, recycling, idle exit and backpressure. */
export interface PoolOptions extends WorkerOptions {
  /** Number of workers; defaults to cpuCount(). */
  processes?: number | null;
}

export type { TaskOptions, ApplyAsyncOptions, MapOptions, MapAsyncOptions, ImapOptions } from './pool-front.ts';

/** A pool of worker processes, as Python's multiprocessing.Pool. */
export class Pool extends PoolFront {
  private readonly dispatcher: Dispatcher;
  private readonly sharedArguments = new SharedArguments();
  private readonly packing = new PackingSpace();

  constructor(options: PoolOptions = {}) {
    super();
    checkObject(options, 'Pool options');
    checkProcesses(options.processes, "Pool option 'processes'");
    const settings = workerSettings('Pool', options);
    this.dispatcher = new Dispatcher({
      processes: options.processes ?? cpuCount(),
      ...settings,
      namePrefix: 'PoolWorker',
      onLost: 'replace',
      brokenError: (detail, cause) => new BrokenProcessPool(detail, cause ? { cause } : undefined),
    });
  }

  /** Runs `fn(...args)` in a worker and resolves with its result. */
  async apply<A extends unknown[], R>(fn: Fn<A, R>, args?: A, options: TaskOptions = {}): Promise<R> {
    return this.applyAsync(fn, args, options).get();
  }

  /** Like apply, but returns an AsyncResult at once (await it, or use get()); callbacks as in Python. */
  applyAsync<A extends unknown[], R>(fn: Fn<A, R>, args?: A, options: ApplyAsyncOptions<R> = {}): AsyncResult<R> {
    this.checkRunning();
    checkFunction(fn, 'applyAsync: fn');
    if (args !== undefined && !Array.isArray(args)) throw new TypeError(`applyAsync: args must be an array, got ${describe(args)}`);
    const { timeout, signal } = this.checkTaskOptions(options, 'applyAsync');
    checkOptionalFunction(options.callback, 'applyAsync: callback');
    checkOptionalFunction(options.errorCallback, 'applyAsync: errorCallback');
    const fnId = this.dispatcher.functionId(fn);
    const encoded = encodeValue(this.sharedArguments.shareAll(args ?? []), 'args');
    this.dispatcher.checkRoom('applyAsync');
    const result = new AsyncResult<R>(options.callback, options.errorCallback);
    this.dispatcher.submit(
      fnId,
      true,
      [encoded],
      (error, results) => (error ? result.reject(error) : result.resolve(results![0] as R)),
      timeout,
      signal,
    );
    return result;
  }

  /** No more tasks; workers exit once the submitted work is done. */
  close(): void {
    this.dispatcher.close();
  }

  /** Stops the workers now (SIGTERM); unfinished tasks reject. */
  terminate(): void {
    this.dispatcher.terminate(new MultiprocError('ERR_MP_POOL_TERMINATED', 'the pool was terminated before the task finished'));
    this.sharedArguments.release();
  }

  /** Waits for the workers to exit; call close() or terminate() first. */
  async join(): Promise<void> {
    if (this.dispatcher.state === 'run') throw new InvalidStateError('Pool is still running: call close() or terminate() before join()');
    await this.dispatcher.join();
    this.sharedArguments.release();
  }

  /** `await using pool = new Pool()`: terminate and join on scope exit, as Python's `with Pool()`. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.terminate();
    await this.join();
  }

  /** Number of worker processes the pool keeps (fewer may be alive after an idle exit). */
  get processes(): number {
    return this.dispatcher.size;
  }

  /** Pids of the current workers (changes as workers are replaced). */
  get workerPids(): number[] {
    return this.dispatcher.workerPids;
  }

  /** Counts, latency histograms (ms), utilization and restarts since the pool started. */
  stats(): PoolStats {
    return this.dispatcher.snapshot();
  }

  /** @internal For getReusablePool: grows or shrinks the pool (surplus workers finish what they hold) and sets idleTimeout. */
  reconfigure(processes: number, idleTimeout: number | null): void {
    this.checkRunning();
    this.dispatcher.resize(processes, idleTimeout);
  }

  /** @internal Names of the shared memory segments that large array arguments were copied into. */
  get sharedArgumentSegments(): string[] {
    return this.sharedArguments.segmentNames;
  }

  /** @internal True while tasks can be submitted. */
  get running(): boolean {
    return this.dispatcher.state === 'run' && !this.dispatcher.broken;
  }

  private checkRunning(): void {
    if (this.dispatcher.state !== 'run') throw new InvalidStateError('Pool not running');
  }

  private checkTaskOptions(options: TaskOptions, method: string): { timeout: number | null; signal: AbortSignal | null } {
    checkObject(options, `${method}: options`);
    checkTimeout(options.timeout, `${method}: timeout`);
    checkSignal(options.signal, `${method}: signal`);
    // Negative: time out at once; null, undefined or Infinity: no timeout.
    const ms = timeoutMs(options.timeout);
    return { timeout: ms === Infinity ? null : ms, signal: options.signal ?? null };
  }

  protected mapChunks<R>(fn: Function, items: Iterable<unknown>, star: boolean, options: MapAsyncOptions<R>, method: string): AsyncResult<R[]> {
    this.checkRunning();
    checkFunction(fn, `${method}: fn`);
    const { timeout, signal } = this.checkTaskOptions(options, method);
    checkChunksize(options.chunksize, method);
    checkOptionalFunction(options.onProgress, `${method}: onProgress`);
    checkBoolean(options.progress, `${method}: progress`);
    checkOptionalFunction(options.callback, `${method}: callback`);
    checkOptionalFunction(options.errorCallback, `${method}: errorCallback`);
    let list = toArray(items, `${method}: items`);
    if (star) list = list.map((item, i) => argumentList(item, `${method}: items[${i}]`));
    const fnId = this.dispatcher.functionId(fn);
    const n = list.length;
    const chunksize = options.chunksize ?? defaultChunksize(n, this.processes);
    const share = (items: unknown[]) => this.sharedArguments.shareItems(items, star);
    // Numbers are packed into the pool's kept buffer, given back once every chunk has settled.
    const space = !star && chunksize >= PACK_MIN && n >= PACK_MIN ? this.packing.take(n) : null;
    // Encode everything first, so a bad item fails the call before any work starts.
    const chunks: unknown[][] = [];
    try {
      for (let start = 0; start < n; start += chunksize) chunks.push(prepareChunk(list, start, Math.min(n, start + chunksize), share, 'items', space));
    } catch (error) {
      if (space) this.packing.giveBack(space);
      throw error;
    }
    const result = new AsyncResult<R[]>(options.callback, options.errorCallback);
    const progress = progressReporter(method.replace(/Async$/, ''), options.progress ?? false, options.onProgress ?? null, n);
    const values = new MapResults<R>(n, chunksize);
    let left = chunks.length;
    let completed = 0;
    let firstError: Error | null = null;
    if (left === 0) {
      progress.finish();
      result.resolve([]);
    }
    chunks.forEach((chunk, c) => {
      const job = this.dispatcher.submit(
        fnId,
        star,
        chunk,
        (error, results) => {
          if (error) firstError ??= error;
          else values.add(c, results!);
          completed += chunk.length;
          progress.report?.(completed, n);
          if (--left > 0) return;
          if (space) this.packing.giveBack(space);
          progress.finish();
          if (firstError) return result.reject(firstError);
          result.resolve(values.array);
        },
        timeout,
        signal,
      );
      // values.add copies the results in at once.
      job.borrowsResults = true;
    });
    // Queued after the dispatcher's send (also a microtask, queued by the first submit): made while the workers work.
    queueMicrotask(() => firstError === null && left > 0 && values.prepare());
    return result;
  }

  protected iterate<R>(
    fn: Function,
    items: Iterable<unknown> | AsyncIterable<unknown>,
    options: ImapOptions,
    ordered: boolean,
    method: string,
  ): AsyncGenerator<R, void, undefined> {
    this.checkRunning();
    checkFunction(fn, `${method}: fn`);
    checkObject(options, `${method}: options`);
    checkChunksize(options.chunksize, method);
    checkOptionalFunction(options.onProgress, `${method}: onProgress`);
    checkBoolean(options.progress, `${method}: progress`);
    const iterable =
      items !== null && typeof items === 'object' && (Symbol.iterator in items || Symbol.asyncIterator in items);
    if (!iterable) throw new TypeError(`${method}: items must be an iterable or async iterable, got ${describe(items)}`);
    const fnId = this.dispatcher.functionId(fn);
    const total = Array.isArray(items) ? items.length : items instanceof Set || items instanceof Map ? items.size : null;
    return iterateResults<R>(this.dispatcher, fnId, items, {
      chunksize: options.chunksize ?? 1,
      ordered,
      star: false,
      window: this.processes * 66,
      share: (item) => this.sharedArguments.share(item),
      progress: progressReporter(method, options.progress ?? false, options.onProgress ?? null, total),
      total,
      method,
    });
  }
}
