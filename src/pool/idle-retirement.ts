/**
 * idleTimeout: workers that have held nothing for that long are told to
 * exit; the dispatcher starts them again when work comes. One unref'd timer
 * for the whole pool, set for the earliest worker to pass the limit, so an
 * idle pool neither polls nor keeps the program alive.
 */
import { performance } from 'node:perf_hooks';
import type { WorkerSlot } from './pool-slot.ts';

/** What the check needs to know of its pool. */
export interface IdlePool {
  /** Milliseconds; null: workers never retire for idleness. */
  idleTimeout(): number | null;
  /** False once the pool is closing or terminated: then close() retires workers. */
  accepting(): boolean;
  /** Workers that hold nothing and may still take work. */
  idleSlots(): Iterable<WorkerSlot>;
  /** True while no job waits for a worker. */
  queueEmpty(): boolean;
}

export class IdleRetirement {
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly pool: IdlePool) {}

  /** Arms the timer for the earliest idle worker, unless it is armed already. */
  schedule(): void {
    const idleMs = this.pool.idleTimeout();
    if (idleMs === null || this.timer || !this.pool.accepting()) return;
    let earliest = Infinity;
    for (const slot of this.pool.idleSlots()) earliest = Math.min(earliest, slot.idleSince);
    if (earliest === Infinity) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      const now = performance.now();
      if (this.pool.queueEmpty()) {
        for (const slot of this.pool.idleSlots()) if (now - slot.idleSince >= idleMs) slot.stop('idle');
      }
      this.schedule();
    }, Math.max(1, earliest + idleMs - performance.now()));
    this.timer.unref();
  }

  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
