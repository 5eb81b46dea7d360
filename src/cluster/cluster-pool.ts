/**
 * ClusterPool: Pool's API over a BullMQ queue on Redis, so that a map
 * outgrows one machine by changing one line. Each chunk of a map is one job;
 * `multiproc worker` processes on any number of machines take the jobs and
 * run them on their own local Pool. Functions travel as (module, export
 * name); workers run only exports of the modules they were started with.
 */
import { Queue, QueueEvents, type ConnectionOptions } from 'bullmq';
import { AsyncResult } from '../pool/async-result.ts';
import { defaultChunksize } from '../pool/map-chunks.ts';
import {
  PoolFront,
  type ApplyAsyncOptions,
  type Fn,
  type ImapOptions,
  type MapAsyncOptions,
  type TaskOptions,
} from '../pool/pool-front.ts';
import {
  argumentList,
  checkChunksize,
  checkFunction,
  checkObject,
  checkBoolean,
  checkOptionalFunction,
  checkSignal,
  checkTimeout,
  describe,
  timeoutMs,
  toArray,
} from '../checks.ts';
import { progressReporter, type ProgressCallback } from '../pool/progress.ts';
import { feedChunks, type FeedOptions } from './chunk-feed.ts';
import { JobTracker } from './job-tracker.ts';
import { checkConnection, RedisLink, type RedisConnection } from './redis-link.ts';
import { taskReference } from './task-module.ts';
import { InvalidStateError, MultiprocError } from '../errors.ts';

/** Options of `new ClusterPool(...)`. */
export interface ClusterPoolOptions {
  /** Redis: a `redis://` / `rediss://` URL, or ioredis options (host, port, password, tls, db, …). */
  connection: RedisConnection;
  /** Name of the BullMQ queue; workers started with the same `--queue` take its jobs. */
  queue: string;
  /** BullMQ key prefix in Redis; default 'bull', as BullMQ's. */
  prefix?: string;
  /** Processes across all workers, as a guess, for the default chunksize ceil(n / (4 × processes)); default 16. */
  processes?: number;
  /** Chunks of one call out in Redis at a time, at most (imap's look-ahead; map feeds the same way); default 1024. */
  lookahead?: number;
  /** Times a chunk may kill the process running it (a pool child, or a whole worker) before it fails; default 3. */
  attempts?: number;
  /** Milliseconds Redis may stay unreachable, at start or mid-map, before calls fail with ClusterConnectionError; default 10000. */
  connectTimeout?: number;
}


function checkPositiveInteger(value: unknown, name: string): void {
  if (value !== undefined && (typeof value !== 'number' || !Number.isInteger(value) || value < 1)) {
    throw new RangeError(`${name} must be a positive integer, got ${describe(value)}`);
  }
}

/** A Pool whose workers are `multiproc worker` processes on any machine that reaches the same Redis. */
export class ClusterPool extends PoolFront {
  /** The BullMQ queue name. */
  readonly queueName: string;
  private readonly link: RedisLink;
  private readonly queue: Queue;
  private readonly events: QueueEvents;
  private readonly tracker: JobTracker;
  private readonly processesHint: number;
  private readonly lookahead: number;
  private readonly attempts: number;
  private state: 'run' | 'close' | 'terminate' = 'run';
  private readonly terminator = new AbortController();
  private readonly calls = new Set<Promise<unknown>>();
  private started: Promise<void> | null = null;
  private closed: Promise<void> | null = null;

  constructor(options: ClusterPoolOptions) {
    super();
    checkObject(options, 'ClusterPool options');
    checkConnection(options.connection, "ClusterPool option 'connection'");
    if (typeof options.queue !== 'string' || options.queue === '' || options.queue.includes(':')) {
      throw new TypeError(`ClusterPool option 'queue' must be a non-empty string without ':', got ${describe(options.queue)}`);
    }
    if (options.prefix !== undefined && (typeof options.prefix !== 'string' || options.prefix === '')) {
      throw new TypeError(`ClusterPool option 'prefix' must be a non-empty string, got ${describe(options.prefix)}`);
    }
    checkPositiveInteger(options.processes, "ClusterPool option 'processes'");
    checkPositiveInteger(options.lookahead, "ClusterPool option 'lookahead'");
    checkPositiveInteger(options.attempts, "ClusterPool option 'attempts'");
    checkTimeout(options.connectTimeout, "ClusterPool option 'connectTimeout'");
    this.queueName = options.queue;
    this.processesHint = options.processes ?? 16;
    this.lookahead = options.lookahead ?? 1024;
    this.attempts = options.attempts ?? 3;
    this.link = new RedisLink(options.connection, Math.max(0, options.connectTimeout ?? 10_000));
    const prefix = options.prefix ?? 'bull';
    this.queue = new Queue(options.queue, { connection: this.link.redis, prefix });
    // Read events from (about) now, not from whenever the first XREAD happens to run: a job done in
    // between would otherwise wait for the tracker's check. The margin covers clock skew with Redis.
    const lastEventId = `${Date.now() - 10_000}-0`;
    this.events = new QueueEvents(options.queue, { connection: this.link.duplicate(), prefix, lastEventId });
    // Connection trouble is reported by the link, with a timeout; these would otherwise be unhandled 'error' events.
    this.queue.on('error', () => {});
    this.tracker = new JobTracker(this.queue, this.events, this.link);
  }

  /** Runs `fn(...args)` on a worker and resolves with its result. */
  async apply<A extends unknown[], R>(fn: Fn<A, R>, args?: A, options: TaskOptions = {}): Promise<R> {
    return this.applyAsync(fn, args, options).get();
  }

  /** Like apply, but returns an AsyncResult at once; callbacks as in Python. */
  applyAsync<A extends unknown[], R>(fn: Fn<A, R>, args?: A, options: ApplyAsyncOptions<R> = {}): AsyncResult<R> {
    this.checkRunning();
    checkFunction(fn, 'applyAsync: fn');
    if (args !== undefined && !Array.isArray(args)) throw new TypeError(`applyAsync: args must be an array, got ${describe(args)}`);
    const task = this.checkTaskOptions(options, 'applyAsync');
    checkOptionalFunction(options.callback, 'applyAsync: callback');
    checkOptionalFunction(options.errorCallback, 'applyAsync: errorCallback');
    const result = new AsyncResult<R>(options.callback, options.errorCallback);
    this.track(result, async () => {
      for await (const chunk of await this.feed(fn, [args ?? []], { ...task, star: true, chunksize: 1, ordered: true, onProgress: null, total: 1, method: 'applyAsync' })) {
        if (chunk.error) throw chunk.error;
        return chunk.results![0] as R;
      }
      throw new Error('applyAsync: the job ended without a result');
    });
    return result;
  }

  /** No more calls; join() then waits for the calls made so far. */
  close(): void {
    if (this.state === 'run') this.state = 'close';
  }

  /** Fails the calls in progress and withdraws their jobs not started yet; running chunks finish on their workers, unheard. */
  terminate(): void {
    if (this.state === 'terminate') return;
    this.state = 'terminate';
    this.terminator.abort(new MultiprocError('ERR_MP_POOL_TERMINATED', 'the pool was terminated before the task finished'));
  }

  /** Waits for the calls in progress, then closes the Redis connections; call close() or terminate() first. */
  async join(): Promise<void> {
    if (this.state === 'run') throw new InvalidStateError('ClusterPool is still running: call close() or terminate() before join()');
    while (this.calls.size > 0) await Promise.allSettled([...this.calls]);
    this.closed ??= this.shutDown();
    await this.closed;
  }

  /** `await using pool = new ClusterPool(...)`: terminate and join on scope exit. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.terminate();
    await this.join();
  }

  private async shutDown(): Promise<void> {
    this.tracker.close();
    // Closing waits on Redis; an unreachable one must not make join() hang.
    const bounded = (promise: Promise<unknown>) =>
      Promise.race([promise.catch(() => {}), new Promise((resolve) => setTimeout(resolve, this.link.connectTimeout).unref())]);
    await bounded(Promise.all([this.events.close(), this.queue.close()]));
    this.link.close();
  }

  private checkRunning(): void {
    if (this.state !== 'run') throw new InvalidStateError('ClusterPool not running');
  }

  private checkTaskOptions(options: TaskOptions, method: string): { timeout: number | null; signal: AbortSignal } {
    checkObject(options, `${method}: options`);
    checkTimeout(options.timeout, `${method}: timeout`);
    checkSignal(options.signal, `${method}: signal`);
    const signals = options.signal ? [options.signal, this.terminator.signal] : [this.terminator.signal];
    // Negative: time out at once; null, undefined or Infinity: no timeout.
    const ms = timeoutMs(options.timeout);
    return { timeout: ms === Infinity ? null : ms, signal: AbortSignal.any(signals) };
  }

  /** Connects (once, or again after a failure) and prepares the feed of one call. */
  private async feed(fn: Function, items: Iterable<unknown> | AsyncIterable<unknown>, options: Omit<FeedOptions, 'reference' | 'window' | 'attempts'>) {
    const reference = await taskReference(fn, options.method);
    this.started ??= this.link.whenReady().then(() => this.events.waitUntilReady()).then(() => {});
    try {
      await this.started;
    } catch (error) {
      this.started = null;
      throw error;
    }
    return feedChunks(this.tracker, items, { ...options, reference, window: this.lookahead, attempts: this.attempts });
  }

  private track<T>(result: AsyncResult<T>, run: () => Promise<T>): void {
    const call = run().then(
      (value) => result.resolve(value),
      (error: Error) => result.reject(error),
    );
    this.calls.add(call);
    void call.finally(() => this.calls.delete(call));
  }

  protected mapChunks<R>(fn: Function, items: Iterable<unknown>, star: boolean, options: MapAsyncOptions<R>, method: string): AsyncResult<R[]> {
    this.checkRunning();
    checkFunction(fn, `${method}: fn`);
    const task = this.checkTaskOptions(options, method);
    checkChunksize(options.chunksize, method);
    checkOptionalFunction(options.onProgress, `${method}: onProgress`);
    checkBoolean(options.progress, `${method}: progress`);
    checkOptionalFunction(options.callback, `${method}: callback`);
    checkOptionalFunction(options.errorCallback, `${method}: errorCallback`);
    let list = toArray(items, `${method}: items`);
    if (star) list = list.map((item, i) => argumentList(item, `${method}: items[${i}]`));
    const n = list.length;
    const chunksize = options.chunksize ?? defaultChunksize(n, this.processesHint);
    const result = new AsyncResult<R[]>(options.callback, options.errorCallback);
    const progress = progressReporter(method.replace(/Async$/, ''), options.progress ?? false, options.onProgress ?? null, n);
    this.track(result, async () => {
      try {
        const values = new Array<R>(n).fill(undefined as R);
        let firstError: Error | null = null;
        const feed = await this.feed(fn, list, { ...task, star, chunksize, ordered: false, onProgress: progress.report, total: n, method });
        for await (const chunk of feed) {
          if (chunk.error) firstError ??= chunk.error;
          else for (let i = 0; i < chunk.results!.length; i++) values[chunk.start + i] = chunk.results![i] as R;
        }
        if (firstError) throw firstError;
        return values;
      } finally {
        progress.finish();
      }
    });
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
    const iterable = items !== null && typeof items === 'object' && (Symbol.iterator in items || Symbol.asyncIterator in items);
    if (!iterable) throw new TypeError(`${method}: items must be an iterable or async iterable, got ${describe(items)}`);
    const total = Array.isArray(items) ? items.length : items instanceof Set || items instanceof Map ? items.size : null;
    const feedOptions = {
      timeout: null,
      signal: this.terminator.signal,
      star: false,
      chunksize: options.chunksize ?? 1,
      ordered,
      onProgress: null as ProgressCallback | null,
      total,
      method,
    };
    const feed = () => this.feed(fn, items, feedOptions);
    const show = options.progress ?? false;
    const onProgress = options.onProgress ?? null;
    return (async function* () {
      // Made when iteration starts, as the local Pool's: a bar must not be drawn for an iterator never read.
      const progress = progressReporter(method, show, onProgress, total);
      feedOptions.onProgress = progress.report;
      try {
        for await (const chunk of await feed()) {
          if (chunk.error) throw chunk.error;
          yield* chunk.results as R[];
        }
      } finally {
        progress.finish();
      }
    })();
  }
}
