/**
 * The parent's side of one pool worker: its process and control channel,
 * the jobs it holds (sent ahead, so that it never waits for a round trip),
 * and the shared cells that tell, after a crash, which job it was running.
 * The dispatcher decides what to give it; this file only runs the worker.
 */
import { performance } from 'node:perf_hooks';
import type { Process } from '../process/process.ts';
import { controlChannel } from '../process/process-internals.ts';
import { allocateBlock } from '../platform/shared-heap.ts';
import type { FunctionReference } from '../transfer/function-reference.ts';
import type { ControlChannel } from '../channels/control-channel.ts';
import { poolWorkerMain } from './pool-worker.ts';
import type { Job } from './pool-job.ts';
import { CELL_COUNT, CELL_READY, CELL_RUNNING, type FromWorker, type LaneForm, type LaneRef, type RunTasks, type ToWorker, type WorkerLaunch } from './pool-protocol.ts';
import { LANE_MIN_ITEMS, NumberLane } from './number-lane.ts';
import type { PackedNumbers } from './number-results.ts';

/** Upper bound of chunks queued in one worker; more only costs memory and balance. */
const MAX_PREFETCH = 64;
/** Prefetch enough chunks to cover about this much work (ms), so a worker never waits for a round trip. */
const PREFETCH_COVER_MS = 20;
/**
 * Below this cost per chunk (ms) a worker holds a second chunk while it runs
 * one, so it never waits for a round trip; above it, one at a time, so that
 * at the end of a map no worker sits on a long chunk another could run.
 */
const DOUBLE_BUFFER_BELOW_MS = 50;

/** How the workers of one pool are started and retired. */
export interface WorkerSettings {
  initializer: FunctionReference | null;
  initargs: unknown[];
  finalizer: FunctionReference | null;
  maxTasksPerChild: number | null;
  maxMemoryPerChild: number | null;
  ProcessClass: typeof Process;
}

export interface SlotEvents {
  onMessages(slot: WorkerSlot, batch: FromWorker[]): void;
  onClose(slot: WorkerSlot): void;
}

export class WorkerSlot {
  readonly proc: Process;
  readonly inflight = new Map<number, Job>();
  /** Jobs handed to this worker over its life, for maxTasksPerChild. */
  assigned = 0;
  /** Killed by us (timeout, abort, terminate): its death is no failure of the pool. */
  killedOnPurpose = false;
  /** Told to finish its queued work and exit, and why. */
  stopReason: 'close' | 'shrink' | 'idle' | 'recycle' | null = null;
  /** When it last became idle (performance.now()), for idleTimeout. */
  idleSince = performance.now();
  readonly startedAt = performance.now();
  private channel!: ControlChannel;
  private readonly cells: Int32Array;
  private readonly knownFns = new Set<number>();
  private outbox: ToWorker[] = [];
  private toSend: Job[] = [];
  private limit = 4;
  private lastResultAt = 0;
  private costPerJobMs = 0;
  /** Made when the first large packed chunk is sent (number-lane.ts); false if that failed. */
  private lane: NumberLane | null | false = null;

  /** Starts the worker; connect() must follow before the slot is used. */
  constructor(
    readonly name: string,
    private readonly settings: WorkerSettings,
    private readonly events: SlotEvents,
  ) {
    const block = allocateBlock(CELL_COUNT * 4, 4);
    this.cells = new Int32Array(block.buffer, block.offset, CELL_COUNT);
    const launch: WorkerLaunch = {
      initializer: settings.initializer,
      initargs: settings.initargs,
      finalizer: settings.finalizer,
      maxTasks: settings.maxTasksPerChild,
      reportRss: settings.maxMemoryPerChild !== null,
      cells: { name: block.name, offset: block.offset },
    };
    this.proc = new settings.ProcessClass({ target: poolWorkerMain, args: [launch], daemon: true, name });
    this.proc.start();
  }

  /**
   * Opens the control channel. Kept apart from the start so that a pool
   * starts all its workers first: after each real fork, the program's first
   * write to each of its pages copies that page, and a channel's socket
   * written between two forks was paid for again after the next one.
   */
  connect(): void {
    this.channel = controlChannel(this.proc);
    this.channel.onMessage((batch) => this.events.onMessages(this, batch as FromWorker[]));
    this.channel.onClose(() => this.events.onClose(this));
  }

  get stopSent(): boolean {
    return this.stopReason !== null;
  }

  /** The id of the job the worker was running (or resolving the function of) when last seen; 0 if none. */
  get runningJobId(): number {
    return Atomics.load(this.cells, CELL_RUNNING);
  }

  /** False until the initializer has finished: a death before that is the initializer's. */
  get ready(): boolean {
    return Atomics.load(this.cells, CELL_READY) === 1;
  }

  /** True once this worker has had its quota of tasks (maxTasksPerChild). */
  get spent(): boolean {
    const max = this.settings.maxTasksPerChild;
    return max !== null && this.assigned >= max;
  }

  canTake(job: Job): boolean {
    if (this.stopSent || this.killedOnPurpose || this.spent) return false;
    if (this.inflight.size >= this.limit) return false;
    if (job.exclusive && this.inflight.size > 0) return false;
    for (const held of this.inflight.values()) if (held.exclusive) return false;
    return true;
  }

  assign(job: Job, fnRef: FunctionReference): void {
    if (!this.knownFns.has(job.fnId)) {
      this.outbox.push({ kind: 'fn', fn: job.fnId, ref: fnRef });
      this.knownFns.add(job.fnId);
    }
    if (this.inflight.size === 0) this.lastResultAt = performance.now();
    this.toSend.push(job);
    this.inflight.set(job.id, job);
    this.assigned++;
    job.state = 'running';
    job.slot = this;
  }

  /**
   * Sends a worker that held nothing its first new job alone, ahead of the
   * others: it can start on it while the rest are sent and received, where a
   * worker given a whole map's share in one message waits for all of it.
   */
  flushFirst(): void {
    if (this.toSend.length < 2 || this.inflight.size !== this.toSend.length) return;
    const rest = this.toSend.splice(1);
    this.flush();
    this.toSend = rest;
  }

  /** Sends the worker its new jobs, consecutive jobs of one function as one RunTasks message. */
  flush(): void {
    if (this.toSend.length === 0 && this.outbox.length === 0) return;
    const out = this.outbox;
    this.outbox = [];
    let current: RunTasks | null = null;
    for (const job of this.toSend) {
      const chunked = job.items.length !== 1;
      if (!current || current.fn !== job.fnId || current.star !== job.star || current.chunked !== chunked) {
        current = { kind: 'tasks', fn: job.fnId, star: job.star, ids: [], items: [], chunked };
        out.push(current);
      }
      const inLane = this.placeInLane(job, out);
      current.ids.push(job.id);
      current.items.push(inLane ? null : chunked ? job.items : job.items[0]);
      if (inLane || current.lane) (current.lane ??= new Array(current.ids.length - 1).fill(null)).push(inLane);
    }
    this.toSend = [];
    this.channel.send(out);
  }

  /** Puts a large packed chunk in the number lane (made, and announced in `out`, the first time); null if it goes by socket. */
  private placeInLane(job: Job, out: ToWorker[]): LaneRef | null {
    const items = job.items as unknown as PackedNumbers;
    if (!(items instanceof Int32Array || items instanceof Float64Array) || items.length < LANE_MIN_ITEMS) return null;
    if (this.lane === false) return null;
    if (!this.lane) {
      try {
        this.lane = new NumberLane();
      } catch {
        // No shared memory to be had: this worker's chunks keep to the socket, which is only slower.
        this.lane = false;
        return null;
      }
      // Before any task message of this flush, as the worker handles them in order.
      out.unshift({ kind: 'lane', name: this.lane.name });
    }
    return this.lane.place(job.id, items);
  }

  /** Job `job`'s results as a worker sent them (`raw`): taken out of the lane (lent, for a borrowing job) if they were left there. */
  laneResults(job: Job, raw: unknown): unknown {
    if (typeof raw !== 'string' || !this.lane || !this.lane.holds(job.id)) return raw;
    return this.lane.results(job.id, raw as LaneForm, job.borrowsResults);
  }

  /** The worker is done with `job`, and so is its onSettle: its lane region is free again. */
  releaseJob(job: Job): void {
    if (this.lane) this.lane.release(job.id);
  }

  /** The worker has exited: its lane goes with it. */
  closeLane(): void {
    if (this.lane) this.lane.close();
  }

  /** Measures how long a chunk takes in this worker and prefetches enough to cover a round trip. */
  adaptPrefetch(settled: number): void {
    if (settled === 0) return;
    const now = performance.now();
    const perJob = (now - this.lastResultAt) / settled;
    this.lastResultAt = now;
    this.costPerJobMs = this.costPerJobMs === 0 ? perJob : this.costPerJobMs * 0.7 + perJob * 0.3;
    const cost = this.costPerJobMs;
    if (cost >= DOUBLE_BUFFER_BELOW_MS) this.limit = 1;
    else this.limit = Math.min(MAX_PREFETCH, Math.max(2, Math.ceil(PREFETCH_COVER_MS / cost)));
    if (this.inflight.size === 0) this.idleSince = now;
  }

  /** Asks the worker to finish what it holds, run its finalizer and exit. */
  stop(reason: NonNullable<WorkerSlot['stopReason']>): void {
    if (this.stopSent || this.killedOnPurpose) return;
    this.stopReason = reason;
    this.channel.send([{ kind: 'stop' }]);
  }

  /** Kills the worker at once (SIGKILL, or SIGTERM with `gently`); its death is then no failure. */
  kill(gently = false): void {
    this.killedOnPurpose = true;
    if (gently) this.proc.terminate();
    else this.proc.kill();
  }

  /** Takes back the jobs the worker held; the caller decides their fate. */
  takeJobs(): Job[] {
    const jobs = [...this.inflight.values()];
    this.inflight.clear();
    return jobs;
  }
}
