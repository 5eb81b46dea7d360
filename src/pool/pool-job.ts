/**
 * One unit of pool work (a task, or a chunk of map items) and its state as
 * it moves from the dispatcher's queue to a worker and back.
 */
import { performance } from 'node:perf_hooks';
import type { ChunkResults } from './pool-protocol.ts';
import type { WorkerSlot } from './pool-slot.ts';

/** One chunk of work: function `fnId` over `items`. */
export class Job {
  state: 'queued' | 'running' | 'done' = 'queued';
  /** The worker slot that holds it while running; null while queued. */
  slot: WorkerSlot | null = null;
  timer: NodeJS.Timeout | null = null;
  abortListener: (() => void) | null = null;
  /**
   * Set when onSettle is done with its results once it returns (map copies
   * them into its array): packed results may then be lent from the worker's
   * number lane instead of copied out of it.
   */
  borrowsResults = false;
  /** When it was submitted (performance.now()), for the queue-wait statistics. */
  readonly submittedAt = performance.now();
  constructor(
    /** Never 0: a worker's running cell uses 0 for "no task". */
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
