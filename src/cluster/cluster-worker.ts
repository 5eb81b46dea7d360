/**
 * Worker side of the cluster: a BullMQ Worker whose processor hands each
 * job (one chunk of a map) to a local multiproc Pool. All task code runs in
 * the pool's child processes, so this process's event loop stays free and
 * BullMQ keeps renewing its job locks however heavy the tasks are.
 *
 * Security: a job names a function as (module, export name). The worker
 * looks it up only among the modules it was started with and refuses
 * anything else, so whoever can write to Redis cannot make it run other code.
 */
import { hostname } from 'node:os';
import { pathToFileURL } from 'node:url';
import { UnrecoverableError, WaitingError, Worker, type Job } from 'bullmq';
import { Pool } from '../pool/pool.ts';
import { WorkerDiedError } from '../errors.ts';
import { importModule } from '../transfer/function-resolver.ts';
import { decodeValues, encodeTaskError, encodeValues, failureReason, JOB_FORMAT_VERSION, type ChunkJobData, type ChunkJobResult } from './job-format.ts';
import { RedisLink, type RedisConnection } from './redis-link.ts';
import { Prefetch } from './prefetch.ts';
import { moduleKey, projectRoot } from './task-module.ts';

export interface ClusterWorkerOptions {
  connection: RedisConnection;
  queue: string;
  prefix: string;
  /** Processes of the local Pool. */
  processes: number;
  /** Absolute paths of the modules whose exports this worker may run. */
  modules: string[];
  /** Jobs (chunks) held at once, or null: adaptive, from 2 per process up to 32 while chunks are short (see prefetch.ts). */
  concurrency: number | null;
  /** BullMQ job lock, ms: a worker that dies loses its jobs to the others after about this long. */
  lockDuration: number;
  /** On SIGTERM, ms the jobs in progress may take to finish before they are handed back to the queue. */
  grace: number;
  connectTimeout: number;
  /** One line of status per this many ms; 0: none. */
  statusInterval: number;
  log: (line: string) => void;
}

/** Progress reports per job, at most one per this many ms. */
const PROGRESS_INTERVAL_MS = 100;

export class ClusterWorker {
  private readonly counts = { completed: 0, items: 0, taskErrors: 0, failed: 0, returned: 0 };
  private activeCount = 0;
  private stopping: Promise<void> | null = null;
  private statusTimer: NodeJS.Timeout | null = null;
  private lastRedisError = '';
  private prefetch: Prefetch | null = null;
  private turn: Promise<void> | null = null;

  private constructor(
    private readonly options: ClusterWorkerOptions,
    private readonly root: string,
    private readonly allowed: Map<string, Record<string, unknown>>,
    private readonly link: RedisLink,
    private readonly pool: Pool,
    private readonly worker: Worker,
  ) {}

  /** Imports the modules, connects (ClusterConnectionError after connectTimeout), starts the pool and takes jobs. */
  static async start(options: ClusterWorkerOptions): Promise<ClusterWorker> {
    const root = projectRoot(process.cwd());
    const allowed = new Map<string, Record<string, unknown>>();
    for (const file of options.modules) allowed.set(moduleKey(file, root), await importModule(pathToFileURL(file).href));
    const link = new RedisLink(options.connection, options.connectTimeout);
    try {
      await link.whenReady();
    } catch (error) {
      link.close();
      throw error;
    }
    const pool = new Pool({ processes: options.processes });
    let self: ClusterWorker | null = null;
    const prefetch = options.concurrency === null ? new Prefetch(options.processes, (concurrency) => (worker.concurrency = concurrency)) : null;
    const worker = new Worker<ChunkJobData, ChunkJobResult>(
      options.queue,
      (job, token, signal) => self!.process(job, token, signal),
      {
        connection: link.redis,
        prefix: options.prefix,
        concurrency: options.concurrency ?? prefetch!.concurrency,
        lockDuration: options.lockDuration,
        stalledInterval: options.lockDuration,
        // Deaths are counted per chunk against the client's `attempts` in process(); BullMQ must not fail stalled jobs first.
        maxStalledCount: Number.MAX_SAFE_INTEGER,
        autorun: false,
      },
    );
    self = new ClusterWorker(options, root, allowed, link, pool, worker);
    self.prefetch = prefetch;
    worker.on('error', (error) => self!.reportRedisError(error));
    worker.on('failed', () => self!.counts.failed++);
    void worker.run().catch((error: Error) => self!.reportRedisError(error));
    await worker.waitUntilReady();
    if (options.statusInterval > 0) {
      self.statusTimer = setInterval(() => options.log(self!.status()), options.statusInterval);
    }
    return self;
  }

  /** Pids of the local pool's processes. */
  get poolPids(): number[] {
    return this.pool.workerPids;
  }

  /** Module keys (relative to the project root) this worker runs functions from. */
  get moduleKeys(): string[] {
    return [...this.allowed.keys()];
  }

  get projectRoot(): string {
    return this.root;
  }

  /** One status line. */
  status(): string {
    const { completed, items, taskErrors, failed, returned } = this.counts;
    return (
      `multiproc worker ${hostname()}:${process.pid} queue=${this.options.queue} processes=${this.options.processes} ` +
      `active=${this.activeCount} held=${this.worker.concurrency} completed=${completed} items=${items} taskErrors=${taskErrors} failed=${failed} ` +
      `returned=${returned} redis=${this.link.redis.status}`
    );
  }

  /**
   * Graceful stop: takes no more jobs, lets those in progress finish for up
   * to `grace` ms, hands the rest back to the queue, then stops the pool.
   * Called again (a second SIGTERM), it hands back at once.
   */
  stop(): Promise<void> {
    if (this.stopping) {
      this.worker.cancelAllJobs('the worker is stopping');
      return this.stopping;
    }
    const grace = setTimeout(() => this.worker.cancelAllJobs('the worker is stopping'), this.options.grace);
    this.stopping = (async () => {
      try {
        await this.worker.close();
      } finally {
        clearTimeout(grace);
        if (this.statusTimer) clearInterval(this.statusTimer);
        this.options.log(this.status());
        this.pool.terminate();
        await this.pool.join();
        this.link.close();
      }
    })();
    return this.stopping;
  }

  /**
   * Resolves once the jobs that arrived in this turn of the event loop are all in: BullMQ hands them
   * over one by one (often several from one read of the Redis socket), and the pool sends the tasks
   * submitted together to a process in one message, so one wake-up of it runs many tiny chunks.
   */
  private nextTurn(): Promise<void> {
    this.turn ??= new Promise<void>((resolve) =>
      setImmediate(() => {
        this.turn = null;
        resolve();
      }),
    );
    return this.turn;
  }

  private reportRedisError(error: Error): void {
    // ioredis repeats the same error on every reconnect attempt; once per change is enough.
    if (error.message === this.lastRedisError) return;
    this.lastRedisError = error.message;
    this.options.log(`multiproc worker: ${error.message}`);
  }

  private lookUp(data: ChunkJobData): Function {
    const namespace = this.allowed.get(data.module);
    const modules = [...this.allowed.keys()].join(', ');
    if (!namespace) {
      throw new UnrecoverableError(
        failureReason(
          'ERR_MP_CLUSTER_FUNCTION_NOT_ALLOWED',
          `the job asks for '${data.name}' from module '${data.module}', which this worker was not started with; ` +
            `it runs only exports of ${modules} (relative to ${this.root}). Start workers with --module ${data.module}`,
        ),
      );
    }
    const fn = Object.hasOwn(namespace, data.name) ? namespace[data.name] : undefined;
    if (typeof fn !== 'function') {
      throw new UnrecoverableError(
        failureReason('ERR_MP_CLUSTER_FUNCTION_NOT_ALLOWED', `module '${data.module}' has no exported function '${String(data.name)}'`),
      );
    }
    return fn;
  }

  private async process(job: Job<ChunkJobData, ChunkJobResult>, token: string | undefined, signal: AbortSignal | undefined): Promise<ChunkJobResult> {
    const data = job.data;
    if (data?.v !== JOB_FORMAT_VERSION) {
      throw new UnrecoverableError(failureReason('ERR_MP_CLUSTER_JOB_FAILED', `job format ${String(data?.v)} is not the ${JOB_FORMAT_VERSION} this worker reads`));
    }
    const fn = this.lookUp(data);
    const deaths = job.stalledCounter + job.attemptsMade;
    if (deaths >= data.attempts) {
      throw new UnrecoverableError(
        failureReason('ERR_MP_CLUSTER_CHUNK_KILLED_WORKER', `the chunk killed the worker running it ${deaths} times (attempts: ${data.attempts}); it is not run again`),
      );
    }
    this.activeCount++;
    this.prefetch?.started();
    try {
      return await this.run(job, fn, signal, deaths);
    } catch (error) {
      if (this.stopping && signal?.aborted) {
        // Handed back whole: another worker runs the chunk from the start.
        await job.moveToWait(token);
        this.counts.returned++;
        throw new WaitingError();
      }
      throw error;
    } finally {
      this.activeCount--;
      this.prefetch?.finished();
    }
  }

  private async run(job: Job<ChunkJobData, ChunkJobResult>, fn: Function, signal: AbortSignal | undefined, deaths: number): Promise<ChunkJobResult> {
    const { data } = job;
    const items = decodeValues(data.items);
    let lastReport = 0;
    const onProgress = (done: number) => {
      const now = Date.now();
      if (done === items.length || now - lastReport < PROGRESS_INTERVAL_MS) return;
      lastReport = now;
      job.updateProgress(done).catch(() => {});
    };
    // No signal for the pool: a task with one runs alone in its process, which would stop the pool from
    // overlapping one job's work with another's Redis round trips. A job handed back on stop is raced
    // instead; its task is ended with the pool, which stop() terminates.
    const options = {
      chunksize: Math.max(1, Math.ceil(items.length / (this.options.processes * 4))),
      timeout: data.timeout,
      onProgress,
    };
    try {
      await this.nextTurn();
      const running = data.star
        ? this.pool.starmap(fn as (...args: unknown[]) => unknown, items as unknown[][], options)
        : this.pool.map(fn as (item: unknown) => unknown, items, options);
      const results = signal ? await Promise.race([running, rejectOnAbort(signal, running)]) : await running;
      this.counts.completed++;
      this.counts.items += items.length;
      return { results: encodeValues(results) };
    } catch (error) {
      if (signal?.aborted) throw error;
      if (error instanceof WorkerDiedError) {
        const made = deaths + 1;
        const message = `the chunk killed the worker process running it ${made} times (attempts: ${data.attempts}); last: ${error.message}`;
        // Below the limit BullMQ retries the job (possibly elsewhere); at the limit it fails for good.
        if (made >= data.attempts) throw new UnrecoverableError(failureReason('ERR_MP_CLUSTER_CHUNK_KILLED_WORKER', message));
        throw new Error(failureReason('ERR_MP_CLUSTER_CHUNK_KILLED_WORKER', message));
      }
      this.counts.taskErrors++;
      return { error: encodeTaskError(error) };
    }
  }
}

/** Rejects with the signal's reason once it aborts; `running` settling first removes the listener. */
function rejectOnAbort(signal: AbortSignal, running: Promise<unknown>): Promise<never> {
  return new Promise<never>((_, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    running.then(
      () => signal.removeEventListener('abort', onAbort),
      () => signal.removeEventListener('abort', onAbort),
    );
  });
}
