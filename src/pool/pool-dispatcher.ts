/**
 * The engine shared by Pool and ProcessPoolExecutor: it keeps a set of
 * worker processes, hands them chunks of work over their control channels,
 * several at a time so that throughput is not bound by round trips, and
 * notices workers that die. Internal; the public classes wrap it.
 */
import { performance } from 'node:perf_hooks';
import { childChannel, Process } from '../process/process.ts';
import { referenceFunction, type FunctionReference } from '../transfer/function-reference.ts';
import { decodeFromTransfer } from '../transfer/shareable.ts';
import type { ControlChannel } from '../channels/control-channel.ts';
import { poolWorkerMain } from './pool-worker.ts';
import type { ChunkResults, FromWorker, RunTasks, ToWorker } from './pool-protocol.ts';
import { abortError, describeExit, reviveRemoteError, TimeoutError, WorkerDiedError, type RemoteErrorData } from './pool-errors.ts';

/** Upper bound of chunks queued in one worker; more only costs memory and balance. */
const MAX_PREFETCH = 64;
/** Prefetch enough chunks to cover about this much work (ms), so a worker never waits for a round trip. */
const PREFETCH_COVER_MS = 4;

export interface DispatcherOptions {
  processes: number;
  initializer: FunctionReference | null;
  initargs: unknown[];
  maxTasksPerChild: number | null;
  ProcessClass: typeof Process;
  /** Worker names are `${namePrefix}-N`. */
  namePrefix: string;
  /** What a worker's unexpected death or a failing initializer turns into: the error for its jobs. */
  onLost: 'replace' | 'break';
  /** Makes the error that breaks the pool (mode 'break', or any initializer failure). */
  brokenError: (detail: string, cause?: Error) => Error;
}

/** One chunk of work: `fn` over `items`. */
export class Job {
  state: 'queued' | 'running' | 'done' = 'queued';
  slot: Slot | null = null;
  timer: NodeJS.Timeout | null = null;
  abortListener: (() => void) | null = null;
  constructor(
    readonly id: number,
    readonly fnId: number,
    readonly star: boolean,
    readonly items: unknown[],
    /** Called once with the error, or null and the results. */
    readonly onSettle: (error: Error | null, results: ChunkResults | null) => void,
    readonly timeoutMs: number | null,
    readonly signal: AbortSignal | null,
  ) {}
  /** A job with a timeout or signal runs alone in its worker, so stopping it harms no other job. */
  get exclusive(): boolean {
    return this.timeoutMs !== null || this.signal !== null;
  }
}

interface Slot {
  proc: Process;
  channel: ControlChannel;
  inflight: Map<number, Job>;
  assigned: number;
  knownFns: Set<number>;
  outbox: ToWorker[];
  /** Jobs assigned since the last send; sent grouped into RunTasks messages. */
  toSend: Job[];
  limit: number;
  lastResultAt: number;
  costPerJobMs: number;
  /** Killed by us (timeout, abort, terminate): its death is no failure of the pool. */
  killedOnPurpose: boolean;
  stopSent: boolean;
}

export class Dispatcher {
  state: 'run' | 'close' | 'terminate' = 'run';
  broken: Error | null = null;
  private readonly slots = new Set<Slot>();
  private queue: Job[] = [];
  private head = 0;
  private nextJobId = 1;
  private workerCount = 0;
  private readonly fnIds = new Map<Function, { id: number; ref: FunctionReference }>();
  private readonly fnRefs: FunctionReference[] = [];
  private outstanding = 0;
  private pumpScheduled = false;
  private keepAlive: NodeJS.Timeout | null = null;
  private joinWaiters: Array<() => void> = [];
  private exiting = 0;

  constructor(private readonly options: DispatcherOptions) {
    for (let i = 0; i < options.processes; i++) this.spawn();
  }

  /** The reference for `fn`, made once; throws a TypeError naming it if it cannot be sent. */
  functionId(fn: Function): number {
    let entry = this.fnIds.get(fn);
    if (!entry) {
      entry = { id: this.fnRefs.length, ref: referenceFunction(fn, 'task function') };
      this.fnIds.set(fn, entry);
      this.fnRefs.push(entry.ref);
    }
    return entry.id;
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
      this.settle(job, this.broken, null);
      return job;
    }
    if (signal) {
      if (signal.aborted) {
        this.settle(job, abortError(signal), null);
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
    this.settle(job, error, null);
    return true;
  }

  /** No more submissions; workers exit once the queued work is done. */
  close(): void {
    if (this.state === 'run') this.state = 'close';
    this.maybeStop();
  }

  /** Stops the workers now; unfinished jobs reject with `error`. */
  terminate(error: Error): void {
    this.state = 'terminate';
    this.failAll(error);
    for (const slot of this.slots) {
      slot.killedOnPurpose = true;
      slot.proc.terminate();
    }
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
    for (const slot of this.slots) {
      slot.killedOnPurpose = true;
      slot.proc.terminate();
    }
  }

  get workerPids(): number[] {
    return [...this.slots].map((slot) => slot.proc.pid!);
  }

  private failAll(error: Error): void {
    for (let i = this.head; i < this.queue.length; i++) this.settle(this.queue[i], error, null);
    this.queue = [];
    this.head = 0;
    for (const slot of this.slots) for (const job of slot.inflight.values()) this.settle(job, error, null);
  }

  private spawn(): void {
    const n = ++this.workerCount;
    const proc = new this.options.ProcessClass({
      target: poolWorkerMain,
      args: [this.options.initializer, this.options.initargs, this.options.maxTasksPerChild],
      daemon: true,
      name: `${this.options.namePrefix}-${n}`,
    });
    proc.start();
    const slot: Slot = {
      proc,
      channel: childChannel(proc),
      inflight: new Map(),
      assigned: 0,
      knownFns: new Set(),
      outbox: [],
      toSend: [],
      limit: 4,
      lastResultAt: 0,
      costPerJobMs: 0,
      killedOnPurpose: false,
      stopSent: false,
    };
    this.slots.add(slot);
    slot.channel.onMessage((batch) => this.onMessages(slot, batch as FromWorker[]));
    slot.channel.onClose(() => void this.onExit(slot));
  }

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    // A microtask lets a caller queue all of a map's chunks before the first send.
    queueMicrotask(() => this.pump());
  }

  private canTake(slot: Slot): boolean {
    const max = this.options.maxTasksPerChild;
    if (slot.stopSent || slot.killedOnPurpose || (max !== null && slot.assigned >= max)) return false;
    if (slot.inflight.size >= slot.limit) return false;
    for (const job of slot.inflight.values()) if (job.exclusive) return false;
    return true;
  }

  private pump(): void {
    this.pumpScheduled = false;
    let progress = true;
    // Round robin, one chunk per worker per pass, keeps the workers' loads even.
    while (progress && this.head < this.queue.length) {
      progress = false;
      for (const slot of this.slots) {
        while (this.head < this.queue.length && this.queue[this.head].state === 'done') this.head++;
        if (this.head >= this.queue.length) break;
        if (!this.canTake(slot)) continue;
        const job = this.queue[this.head];
        if (job.exclusive && slot.inflight.size > 0) continue;
        this.head++;
        this.assign(slot, job);
        progress = true;
      }
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    for (const slot of this.slots) if (slot.toSend.length > 0 || slot.outbox.length > 0) this.send(slot);
    this.maybeStop();
  }

  /** Sends a worker its new jobs, consecutive jobs of one function as one RunTasks message. */
  private send(slot: Slot): void {
    const out = slot.outbox.splice(0);
    let current: RunTasks | null = null;
    for (const job of slot.toSend) {
      const chunked = job.items.length !== 1;
      if (!current || current.fn !== job.fnId || current.star !== job.star || current.chunked !== chunked) {
        current = { kind: 'tasks', fn: job.fnId, star: job.star, ids: [], items: [], chunked };
        out.push(current);
      }
      current.ids.push(job.id);
      current.items.push(chunked ? job.items : job.items[0]);
    }
    slot.toSend = [];
    slot.channel.send(out);
  }

  private assign(slot: Slot, job: Job): void {
    if (!slot.knownFns.has(job.fnId)) {
      slot.outbox.push({ kind: 'fn', fn: job.fnId, ref: this.fnRefs[job.fnId] });
      slot.knownFns.add(job.fnId);
    }
    if (slot.inflight.size === 0) slot.lastResultAt = performance.now();
    slot.toSend.push(job);
    slot.inflight.set(job.id, job);
    slot.assigned++;
    job.state = 'running';
    job.slot = slot;
    if (job.timeoutMs !== null) {
      const ms = job.timeoutMs;
      job.timer = setTimeout(() => this.stopJob(job, new TimeoutError(`the task did not finish within ${ms} ms; its worker was stopped`)), ms);
    }
  }

  /** Ends a job early: a queued one is dropped, a running one's worker is killed (and replaced). */
  private stopJob(job: Job, error: Error): void {
    if (job.state === 'done') return;
    const slot = job.slot;
    this.settle(job, error, null);
    if (slot) {
      slot.killedOnPurpose = true;
      slot.proc.kill();
    }
  }

  private onMessages(slot: Slot, batch: FromWorker[]): void {
    let settled = 0;
    for (const message of batch) {
      if (message.kind === 'initErr') {
        const cause = reviveRemoteError(message.error);
        this.breakPool(this.options.brokenError(`the pool's initializer failed: ${cause.name}: ${cause.message}`, cause));
        continue;
      }
      if (message.kind === 'err') {
        const job = slot.inflight.get(message.id);
        if (!job) continue;
        settled++;
        this.settle(job, reviveRemoteError(message.error as RemoteErrorData), null);
        continue;
      }
      const { ids, results, chunked } = message;
      for (let k = 0; k < ids.length; k++) {
        const job = slot.inflight.get(ids[k]);
        if (!job) continue;
        settled++;
        // issue 11: results are encoded for transfer in the worker (class instances, shareables); revive them.
        const result = typeof results[k] === 'object' && results[k] !== null ? decodeFromTransfer(results[k]) : results[k];
        this.settle(job, null, chunked ? (result as ChunkResults) : [result]);
      }
    }
    this.adaptPrefetch(slot, settled);
    this.pump();
  }

  /** Measures how long a chunk takes in this worker and prefetches enough to cover a round trip. */
  private adaptPrefetch(slot: Slot, settled: number): void {
    if (settled === 0) return;
    const now = performance.now();
    const perJob = (now - slot.lastResultAt) / settled;
    slot.lastResultAt = now;
    slot.costPerJobMs = slot.costPerJobMs === 0 ? perJob : slot.costPerJobMs * 0.7 + perJob * 0.3;
    const cost = slot.costPerJobMs;
    slot.limit = cost >= PREFETCH_COVER_MS ? 1 : Math.min(MAX_PREFETCH, Math.max(2, Math.ceil(PREFETCH_COVER_MS / cost)));
  }

  private settle(job: Job, error: Error | null, results: ChunkResults | null): void {
    if (job.state === 'done') return;
    job.state = 'done';
    job.slot?.inflight.delete(job.id);
    if (job.timer) clearTimeout(job.timer);
    if (job.abortListener) job.signal!.removeEventListener('abort', job.abortListener);
    this.outstanding--;
    if (this.outstanding === 0) this.holdLoop();
    job.onSettle(error, results);
  }

  private async onExit(slot: Slot): Promise<void> {
    this.slots.delete(slot);
    this.exiting++;
    await slot.proc.join();
    this.exiting--;
    const code = slot.proc.exitCode;
    const who = `pool worker ${slot.proc.name} (pid ${slot.proc.pid})`;
    slot.proc.close();
    const orphans = [...slot.inflight.values()];
    const unexpected = !slot.killedOnPurpose && !slot.stopSent && !this.retired(slot);
    if (orphans.length > 0 || (unexpected && code !== 0)) {
      const detail = `${who} ${describeExit(code)}`;
      if (this.options.onLost === 'break' && !slot.killedOnPurpose) {
        const error = this.options.brokenError(`${detail}; the pool is not usable anymore`);
        this.breakPool(error);
        // This slot has left `slots` already, so breakPool did not see its jobs.
        for (const job of orphans) this.settle(job, error, null);
      } else {
        for (const job of orphans) this.settle(job, new WorkerDiedError(`${detail} while running a task`, code), null);
      }
    }
    const needed = this.state === 'run' || (this.state === 'close' && this.head < this.queue.length);
    if (needed && !this.broken && this.slots.size < this.options.processes) this.spawn();
    this.schedulePump();
    this.maybeFinished();
  }

  private retired(slot: Slot): boolean {
    const max = this.options.maxTasksPerChild;
    return max !== null && slot.assigned >= max;
  }

  /** After close(), tells idle workers to exit once nothing is left to do. */
  private maybeStop(): void {
    if (this.state !== 'close' || this.outstanding > 0) return;
    for (const slot of this.slots) {
      if (!slot.stopSent) {
        slot.stopSent = true;
        slot.channel.send([{ kind: 'stop' }]);
      }
    }
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
