/**
 * The scheduler shared by Pool and ProcessPoolExecutor: a queue of jobs,
 * handed out round robin to worker slots (pool-slot.ts runs each worker),
 * and what happens when a worker dies. Only the job a dead worker was
 * running fails; what it merely held goes back to the front of the queue.
 * Internal; the public classes wrap it.
 */
import { performance } from 'node:perf_hooks';
import { referenceFunction, type FunctionReference } from '../transfer/function-reference.ts';
import { decodeFromTransfer } from '../transfer/shareable.ts';
import { MultiprocError, QueueFullError, TimeoutError, WorkerDiedError } from '../errors.ts';
import { Job } from './pool-job.ts';
import { WorkerSlot, type SlotEvents, type WorkerSettings } from './pool-slot.ts';
import type { ChunkResults, FromWorker } from './pool-protocol.ts';
import { reviveRemoteError, type RemoteErrorData } from './remote-error.ts';
import { abortError, describeExit } from './task-failures.ts';
import { StatsRecorder, type PoolStats } from './pool-stats.ts';
import { IdleRetirement } from './idle-retirement.ts';

export interface DispatcherOptions extends WorkerSettings {
  processes: number;
  /** Worker names are `${namePrefix}-N`. */
  namePrefix: string;
  /** What a worker's unexpected death does: fail its running job ('replace'), or break the pool ('break'). */
  onLost: 'replace' | 'break';
  /** Makes the error that breaks the pool (mode 'break', or any initializer failure). */
  brokenError: (detail: string, cause?: Error) => Error;
  /** Idle workers exit after this many ms (started again on demand); null: never. */
  idleTimeout: number | null;
  /** Most jobs waiting for a worker that checkRoom() accepts; null: no limit. */
  maxQueue: number | null;
}

export class Dispatcher {
  state: 'run' | 'close' | 'terminate' = 'run';
  broken: Error | null = null;
  private readonly slots = new Set<WorkerSlot>();
  private queue: Job[] = [];
  private head = 0;
  private nextJobId = 1;
  private workerCount = 0;
  private processes: number;
  /** Idle workers exit after this many ms; changed by getReusablePool. */
  idleTimeout: number | null;
  private readonly fnIds = new Map<Function, number>();
  private readonly fnRefs: FunctionReference[] = [];
  private outstanding = 0;
  private pumpScheduled = false;
  private keepAlive: NodeJS.Timeout | null = null;
  /** With idleTimeout, stops workers that have held nothing for that long; pump() starts them again. */
  private readonly idle = new IdleRetirement({
    idleTimeout: () => this.idleTimeout,
    accepting: () => this.state === 'run',
    idleSlots: () => [...this.slots].filter((slot) => this.isActive(slot) && slot.inflight.size === 0),
    queueEmpty: () => this.queuedCount === 0,
  });
  private joinWaiters: Array<() => void> = [];
  private exiting = 0;
  private readonly stats = new StatsRecorder();

  constructor(private readonly options: DispatcherOptions) {
    this.processes = options.processes;
    this.idleTimeout = options.idleTimeout;
    this.spawn(this.processes);
  }

  /** The reference for `fn`, made once; throws a TypeError naming it if it cannot be sent. */
  functionId(fn: Function): number {
    let id = this.fnIds.get(fn);
    if (id === undefined) {
      id = this.fnRefs.length;
      this.fnRefs.push(referenceFunction(fn, 'task function'));
      this.fnIds.set(fn, id);
    }
    return id;
  }

  /** Throws QueueFullError when `maxQueue` jobs already wait for a worker. */
  checkRoom(method: string): void {
    const max = this.options.maxQueue;
    if (max !== null && this.queuedCount >= max) {
      throw new QueueFullError(`${method}: the pool's queue is full (maxQueue ${max} tasks waiting for a worker)`);
    }
  }

  /** Queues a chunk; `items` must already be encoded for transfer. */
  submit(
    fnId: number,
    star: boolean,
    items: unknown[],
    onSettle: Job['onSettle'],
    timeoutMs: number | null = null,
    signal: AbortSignal | null = null,
  ): Job {
    const job = new Job(this.nextJobId++, fnId, star, items, onSettle, timeoutMs, signal);
    this.outstanding++;
    this.holdLoop();
    if (this.broken) {
      this.settle(job, this.broken, null, null);
      return job;
    }
    if (signal) {
      if (signal.aborted) {
        this.settle(job, abortError(signal), null, null);
        return job;
      }
      job.abortListener = () => this.stopJob(job, abortError(signal));
      signal.addEventListener('abort', job.abortListener, { once: true });
    }
    this.queue.push(job);
    this.schedulePump();
    return job;
  }

  /** Withdraws a job that has not been sent to a worker yet; false if it already runs or ran. */
  cancel(job: Job, error: Error): boolean {
    if (job.state !== 'queued') return false;
    this.settle(job, error, null, null);
    return true;
  }

  /** No more submissions; workers exit once the queued work is done. */
  close(): void {
    if (this.state === 'run') this.state = 'close';
    this.idle.cancel();
    this.maybeStop();
  }

  /** Stops the workers now; unfinished jobs reject with `error`. */
  terminate(error: Error): void {
    this.state = 'terminate';
    this.idle.cancel();
    this.failAll(error);
    for (const slot of this.slots) slot.kill(true);
    this.maybeFinished();
  }

  /** Resolves once every worker has exited; call after close() or terminate(). */
  join(): Promise<void> {
    if (this.slots.size === 0 && this.exiting === 0) return Promise.resolve();
    this.holdLoop(true);
    return new Promise((resolve) => this.joinWaiters.push(resolve));
  }

  /** Breaks the pool: every unfinished and future job rejects with `error`. */
  breakPool(error: Error): void {
    if (this.broken) return;
    this.broken = error;
    this.failAll(error);
    for (const slot of this.slots) slot.kill(true);
  }

  /** Grows or shrinks the pool to `processes` workers; surplus workers finish what they hold, then exit. */
  resize(processes: number, idleTimeout: number | null): void {
    this.processes = processes;
    this.idleTimeout = idleTimeout;
    this.idle.cancel();
    const active = [...this.slots].filter((slot) => this.isActive(slot));
    for (const slot of active.slice(processes)) slot.stop('shrink');
    this.schedulePump();
  }

  /** How many workers the pool keeps (started on demand after an idle exit). */
  get size(): number {
    return this.processes;
  }

  get workerPids(): number[] {
    return [...this.slots].map((slot) => slot.proc.pid!);
  }

  get queuedCount(): number {
    let count = 0;
    for (let i = this.head; i < this.queue.length; i++) if (this.queue[i].state === 'queued') count++;
    return count;
  }

  snapshot(): PoolStats {
    let running = 0;
    for (const slot of this.slots) running += slot.inflight.size;
    return this.stats.snapshot(this.queuedCount, running, [...this.slots].map((slot) => slot.startedAt));
  }

  private failAll(error: Error): void {
    for (let i = this.head; i < this.queue.length; i++) this.settle(this.queue[i], error, null, null);
    this.queue = [];
    this.head = 0;
    for (const slot of this.slots) for (const job of slot.takeJobs()) this.settle(job, error, null, null);
  }

  private isActive(slot: WorkerSlot): boolean {
    return !slot.stopSent && !slot.killedOnPurpose && !slot.spent;
  }

  /** Starts `count` workers, all before any of their channels (see WorkerSlot.connect). */
  private spawn(count: number): void {
    const events: SlotEvents = {
      onMessages: (from, batch) => this.onMessages(from, batch),
      onClose: (from) => void this.onExit(from),
    };
    const started: WorkerSlot[] = [];
    try {
      for (let i = 0; i < count; i++) {
        started.push(new WorkerSlot(`${this.options.namePrefix}-${++this.workerCount}`, this.options, events));
      }
    } finally {
      // Those started before a failed start are the pool's all the same.
      for (const slot of started) {
        slot.connect();
        this.slots.add(slot);
      }
    }
  }

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    // A microtask lets a caller queue all of a map's chunks before the first send.
    queueMicrotask(() => this.pump());
  }

  private pump(): void {
    this.pumpScheduled = false;
    while (this.head < this.queue.length && this.queue[this.head].state === 'done') this.head++;
    if (this.head < this.queue.length && this.state !== 'terminate' && !this.broken) {
      // Workers that exited (idle, recycled, retired) come back when there is work.
      let active = 0;
      for (const slot of this.slots) if (this.isActive(slot)) active++;
      this.spawn(this.processes - active);
    }
    let progress = true;
    // Round robin, one chunk per worker per pass, keeps the workers' loads even.
    while (progress && this.head < this.queue.length) {
      progress = false;
      for (const slot of this.slots) {
        while (this.head < this.queue.length && this.queue[this.head].state === 'done') this.head++;
        if (this.head >= this.queue.length) break;
        const job = this.queue[this.head];
        if (!slot.canTake(job)) continue;
        this.head++;
        this.assign(slot, job);
        progress = true;
      }
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    // Every idle worker gets one job before any gets the rest, so all start early.
    for (const slot of this.slots) slot.flushFirst();
    for (const slot of this.slots) slot.flush();
    this.maybeStop();
    this.idle.schedule();
  }

  private assign(slot: WorkerSlot, job: Job): void {
    slot.assign(job, this.fnRefs[job.fnId]);
    if (job.timeoutMs !== null) {
      const ms = job.timeoutMs;
      job.timer = setTimeout(() => this.stopJob(job, new TimeoutError(`the task did not finish within ${ms} ms; its worker was stopped`)), ms);
    }
  }

  /** Ends a job early: a queued one is dropped, a running one's worker is killed (and replaced). */
  private stopJob(job: Job, error: Error): void {
    if (job.state === 'done') return;
    const slot = job.slot;
    this.settle(job, error, null, null);
    slot?.kill();
  }

  private onMessages(slot: WorkerSlot, batch: FromWorker[]): void {
    let settled = 0;
    for (const message of batch) {
      if (message.kind === 'ok') {
        const { ids, results, chunked, runMs } = message;
        for (let k = 0; k < ids.length; k++) {
          const job = slot.inflight.get(ids[k]);
          if (!job) continue;
          settled++;
          // issue 11: results are encoded for transfer in the worker (class instances, shareables); revive them.
          const raw = slot.laneResults(job, results[k]);
          // A packed chunk (number-results.ts) holds nothing to revive.
          const result = typeof raw === 'object' && raw !== null && !ArrayBuffer.isView(raw) ? decodeFromTransfer(raw) : raw;
          this.settle(job, null, chunked ? (result as ChunkResults) : [result], runMs[k]);
        }
        const maxRss = this.options.maxMemoryPerChild;
        // Recycling is graceful: the worker finishes what it holds; a fresh one takes new work.
        if (maxRss !== null && message.rss !== undefined && message.rss > maxRss) slot.stop('recycle');
      } else if (message.kind === 'err') {
        const job = slot.inflight.get(message.id);
        if (!job) continue;
        settled++;
        this.settle(job, reviveRemoteError(message.error as RemoteErrorData), null, message.runMs);
      } else if (message.kind === 'initErr') {
        const cause = reviveRemoteError(message.error);
        this.breakPool(this.options.brokenError(`the pool's initializer failed: ${cause.name}: ${cause.message}`, cause));
      } else {
        const cause = reviveRemoteError(message.error);
        process.emitWarning(`pool worker ${slot.name}'s finalizer failed: ${cause.name}: ${cause.message}`, { code: 'ERR_MP_FINALIZER_FAILED' });
      }
    }
    slot.adaptPrefetch(settled);
    this.pump();
  }

  private settle(job: Job, error: Error | null, results: ChunkResults | null, runMs: number | null): void {
    if (job.state === 'done') return;
    job.state = 'done';
    job.slot?.inflight.delete(job.id);
    if (job.timer) clearTimeout(job.timer);
    if (job.abortListener) job.signal!.removeEventListener('abort', job.abortListener);
    this.stats.settled(error === null, job.items.length, performance.now() - job.submittedAt, runMs);
    this.outstanding--;
    if (this.outstanding === 0) this.holdLoop();
    try {
      job.onSettle(error, results);
    } finally {
      // Only now: results lent from the lane (Job.borrowsResults) are read until onSettle returns.
      job.slot?.releaseJob(job);
    }
  }

  private async onExit(slot: WorkerSlot): Promise<void> {
    this.slots.delete(slot);
    this.exiting++;
    await slot.proc.join();
    this.exiting--;
    this.stats.workerExited(slot.startedAt);
    const code = slot.proc.exitCode;
    const who = `pool worker ${slot.name} (pid ${slot.proc.pid})`;
    slot.proc.close();
    slot.closeLane();
    const held = slot.takeJobs();
    const expected = slot.killedOnPurpose || ((slot.stopSent || slot.spent) && code === 0);
    if (!expected && !slot.ready && !this.broken && this.state !== 'terminate') {
      // Replacing a worker that cannot get through its initializer would loop forever.
      this.breakPool(this.options.brokenError(`${who} ${describeExit(code)} in its initializer; the pool is not usable anymore`));
    }
    if (!expected && this.options.onLost === 'break' && (held.length > 0 || code !== 0)) {
      const error = this.options.brokenError(`${who} ${describeExit(code)}; the pool is not usable anymore`);
      this.breakPool(error);
      // This slot has left `slots` already, so breakPool did not see its jobs.
      for (const job of held) this.settle(job, error, null, null);
    } else if (held.length > 0) {
      this.reclaim(held, slot.runningJobId, `${who} ${describeExit(code)} while running the task`, code);
    }
    // Shrinking and idle exits are not restarts; crashes, stopped tasks and recycling are.
    const retiredByChoice = slot.stopReason === 'idle' || slot.stopReason === 'shrink';
    if (this.state === 'run' && !this.broken && !retiredByChoice) this.stats.workerRestarts++;
    this.schedulePump();
    this.maybeFinished();
  }

  /** A dead worker's jobs: the one it was running fails; the rest never ran, so they go back to the queue's front. */
  private reclaim(held: Job[], runningId: number, detail: string, code: number | null): void {
    const again: Job[] = [];
    for (const job of held) {
      if (job.state === 'done') continue;
      if (job.id === runningId) this.settle(job, new WorkerDiedError(detail, code), null, null);
      else {
        job.state = 'queued';
        job.slot = null;
        // Its timeout restarts when a worker takes it again.
        if (job.timer) clearTimeout(job.timer);
        job.timer = null;
        again.push(job);
      }
    }
    if (this.broken || this.state === 'terminate') {
      for (const job of again) this.settle(job, this.broken ?? new MultiprocError('ERR_MP_POOL_TERMINATED', 'the pool was terminated before the task finished'), null, null);
      return;
    }
    this.queue.splice(this.head, 0, ...again);
  }

  /** After close(), tells idle workers to exit once nothing is left to do. */
  private maybeStop(): void {
    if (this.state !== 'close' || this.outstanding > 0) return;
    for (const slot of this.slots) slot.stop('close');
  }

  private maybeFinished(): void {
    if (this.slots.size > 0 || this.exiting > 0 || this.state === 'run') return;
    const waiters = this.joinWaiters.splice(0);
    this.holdLoop();
    for (const resolve of waiters) resolve();
  }

  /** Daemon workers do not keep Node alive; while work or a join is pending, this timer does. */
  private holdLoop(force = false): void {
    const hold = force || this.outstanding > 0 || this.joinWaiters.length > 0;
    if (hold && !this.keepAlive) this.keepAlive = setInterval(() => {}, 1 << 30);
    else if (!hold && this.keepAlive) {
      clearInterval(this.keepAlive);
      this.keepAlive = null;
    }
  }
}
