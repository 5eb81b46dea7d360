/**
 * What `pool.stats()` reports, and the recorder the dispatcher feeds as
 * jobs settle and workers come and go. Histograms are Node's own
 * (perf_hooks.createHistogram, HDR-style, constant memory), recorded in
 * microseconds and reported in milliseconds.
 */
import { createHistogram, performance, type RecordableHistogram } from 'node:perf_hooks';

/** Percentiles of a duration, in milliseconds (0 when nothing was recorded). */
export interface DurationSummary {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** A snapshot of a pool's activity since it was created. */
export interface PoolStats {
  /** Tasks (for map, chunks) that returned a result. */
  tasksCompleted: number;
  /** Tasks (chunks) that threw, timed out, were aborted or lost their worker. */
  tasksFailed: number;
  /** Items of completed and failed tasks: a map chunk of 10 items counts 10. */
  itemsCompleted: number;
  itemsFailed: number;
  /** Tasks waiting for a worker now. */
  queued: number;
  /** Tasks held by workers now (running, or sent ahead to them). */
  running: number;
  /** Time from submission to the start of the run (approximately: total latency minus run time). */
  queueWait: DurationSummary;
  /** Time a task ran in its worker. */
  runTime: DurationSummary;
  /** Share of the workers' lifetime spent running tasks, 0..1. */
  utilization: number;
  /** Workers started to replace one that died, was recycled, or retired after maxTasksPerChild. */
  workerRestarts: number;
  /** Workers now alive. */
  workers: number;
}

function summary(histogram: RecordableHistogram): DurationSummary {
  if (histogram.count === 0) return { count: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 };
  const ms = (us: number) => us / 1000;
  return {
    count: histogram.count,
    mean: ms(histogram.mean),
    p50: ms(histogram.percentile(50)),
    p90: ms(histogram.percentile(90)),
    p99: ms(histogram.percentile(99)),
    max: ms(histogram.max),
  };
}

/** Microseconds, at least 1: the histogram records positive integers only. */
function micros(ms: number): number {
  return Math.max(1, Math.round(ms * 1000));
}

export class StatsRecorder {
  tasksCompleted = 0;
  tasksFailed = 0;
  itemsCompleted = 0;
  itemsFailed = 0;
  workerRestarts = 0;
  private readonly waits = createHistogram();
  private readonly runs = createHistogram();
  private busyMs = 0;
  /** Lifetime of workers that have exited, and start times of the living ones. */
  private retiredLifeMs = 0;

  /** A job settled `latencyMs` after submission, of which it ran `runMs` (null if it never ran). */
  settled(ok: boolean, items: number, latencyMs: number, runMs: number | null): void {
    if (ok) {
      this.tasksCompleted++;
      this.itemsCompleted += items;
    } else {
      this.tasksFailed++;
      this.itemsFailed += items;
    }
    if (runMs !== null) {
      this.runs.record(micros(runMs));
      this.busyMs += runMs;
    }
    this.waits.record(micros(Math.max(0, latencyMs - (runMs ?? 0))));
  }

  workerExited(startedAt: number): void {
    this.retiredLifeMs += performance.now() - startedAt;
  }

  snapshot(queued: number, running: number, liveStarts: number[]): PoolStats {
    const now = performance.now();
    const lifeMs = liveStarts.reduce((sum, start) => sum + (now - start), this.retiredLifeMs);
    return {
      tasksCompleted: this.tasksCompleted,
      tasksFailed: this.tasksFailed,
      itemsCompleted: this.itemsCompleted,
      itemsFailed: this.itemsFailed,
      queued,
      running,
      queueWait: summary(this.waits),
      runTime: summary(this.runs),
      utilization: lifeMs > 0 ? Math.min(1, this.busyMs / lifeMs) : 0,
      workerRestarts: this.workerRestarts,
      workers: liveStarts.length,
    };
  }
}
