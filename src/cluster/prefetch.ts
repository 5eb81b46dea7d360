/**
 * How many jobs a worker holds at once (BullMQ's concurrency). BullMQ hands
 * a worker its next job only in the reply to a completion, a Redis round
 * trip; with tiny chunks a pool process that holds one job would spend most
 * of its time waiting on that trip, and every job would cost its own
 * wake-ups of the pool and Redis. Holding many jobs hides the trip and lets
 * jobs share wake-ups. But a worker holding many long chunks would keep them
 * from idle workers on other machines, and would have many to rerun if it
 * died. So a worker holds, per process, about LOOKAHEAD_MS of work besides
 * the chunk running: 2 jobs per process while chunks are long, up to
 * MAX_PER_PROCESS while they take a fraction of a millisecond.
 */

/** Work (ms) queued per pool process beyond the running chunk. */
export const LOOKAHEAD_MS = 20;
/** Jobs held per process, at least: one running, one ready. */
export const MIN_PER_PROCESS = 2;
/** Jobs held per process, at most: beyond this the saving per job is small (measured: 32 beat 64 with 1 process). */
export const MAX_PER_PROCESS = 32;
/** Completions are timed over windows of at least this many ms. */
const SAMPLE_MS = 50;
/** A worker without any job for longer than this was idle, not waiting for Redis: its window starts again. */
const IDLE_MS = 100;

/** The concurrency that holds LOOKAHEAD_MS of work per process, for chunks that take `jobMs` of a process each. */
export function concurrencyFor(processes: number, jobMs: number): number {
  const perProcess = 1 + Math.ceil(LOOKAHEAD_MS / Math.max(jobMs, 1e-3));
  return processes * Math.min(MAX_PER_PROCESS, Math.max(MIN_PER_PROCESS, perProcess));
}

export class Prefetch {
  private windowStart = 0;
  private completions = 0;
  private active = 0;
  private lastFinished = -Infinity;
  private current: number;

  constructor(
    private readonly processes: number,
    /** Told each new concurrency. */
    private readonly apply: (concurrency: number) => void,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.current = processes * MIN_PER_PROCESS;
  }

  get concurrency(): number {
    return this.current;
  }

  /** A job reached the processor. */
  started(): void {
    // Between two jobs there is often none at all for a Redis round trip: that wait is what holding
    // more jobs saves, so it counts. A longer gap is idleness (no work queued), which does not.
    if (this.active++ === 0 && this.now() - this.lastFinished > IDLE_MS) {
      this.windowStart = this.now();
      this.completions = 0;
      // New work may be long chunks: hold few until the first window says otherwise.
      this.set(this.processes * MIN_PER_PROCESS);
    }
  }

  /** A job left the processor (done, failed or handed back). */
  finished(): void {
    this.active--;
    this.completions++;
    this.lastFinished = this.now();
    const elapsed = this.lastFinished - this.windowStart;
    if (elapsed < SAMPLE_MS) return;
    // Elapsed time over completions, per process: the chunk's own time plus any wait for Redis, so
    // an over-estimate while the pool is starved. That errs towards holding fewer jobs, and the
    // estimate falls as holding more keeps the pool busy.
    const next = concurrencyFor(this.processes, (elapsed * this.processes) / this.completions);
    this.windowStart = this.now();
    this.completions = 0;
    this.set(next);
  }

  private set(concurrency: number): void {
    if (concurrency === this.current) return;
    this.current = concurrency;
    this.apply(concurrency);
  }
}
