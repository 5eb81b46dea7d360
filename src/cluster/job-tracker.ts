/**
 * Client side: which of this pool's jobs are still out, and how each ends.
 * Completions arrive through BullMQ's QueueEvents stream; a periodic check
 * of the jobs themselves covers events that never come, e.g. after Redis
 * restarted without persistence and lost the jobs (they are added again,
 * under the same id, from the copy kept here).
 */
import type { Queue, QueueEvents } from 'bullmq';
import type { ClusterConnectionError } from '../errors.ts';
import { decodeTaskError, decodeValues, failedJobError, type ChunkJobData, type ChunkJobResult } from './job-format.ts';
import type { RedisLink } from './redis-link.ts';

/** How a chunk ended: its results, or an error (the task's own, or the cluster's). */
export interface ChunkOutcome {
  results: unknown[] | null;
  error: Error | null;
  /** The error concerns the whole call (Redis unreachable), not this chunk alone. */
  fatal: boolean;
}

export interface ChunkWatch {
  data: ChunkJobData;
  settle(outcome: ChunkOutcome): void;
  /** Items of the chunk done so far, as reported by its worker. */
  progress(done: number): void;
}

/** Without any event for this long while jobs are out, look at the jobs themselves. */
const QUIET_MS = 1000;
/** Jobs looked at per check; the windows of calls keep the number out bounded anyway. */
const CHECK_BATCH = 500;

export class JobTracker {
  private readonly watches = new Map<string, ChunkWatch>();
  private lastEvent = Date.now();
  private checking = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly queue: Queue,
    events: QueueEvents,
    private readonly link: RedisLink,
  ) {
    events.on('completed', ({ jobId, returnvalue }) => {
      this.lastEvent = Date.now();
      this.complete(jobId, returnvalue as unknown as ChunkJobResult);
    });
    events.on('failed', ({ jobId, failedReason }) => {
      this.lastEvent = Date.now();
      this.fail(jobId, failedReason);
    });
    events.on('progress', ({ jobId, data }) => {
      this.lastEvent = Date.now();
      if (typeof data === 'number') this.watches.get(jobId)?.progress(data);
    });
    // QueueEvents reports its own connection trouble here; the link already watches Redis.
    events.on('error', () => {});
    link.onUnreachable((error) => this.failAll(error));
    this.timer = setInterval(() => void this.check(), QUIET_MS);
    this.timer.unref();
  }

  /** Number of jobs out. */
  get size(): number {
    return this.watches.size;
  }

  /** Adds the jobs; a failure to add settles their watches with the error rather than throwing. */
  add(jobs: { jobId: string; watch: ChunkWatch }[]): void {
    for (const { jobId, watch } of jobs) this.watches.set(jobId, watch);
    const unreachable = this.link.unreachable;
    if (unreachable) return this.failAll(unreachable);
    this.queue.addBulk(jobs.map(({ jobId, watch }) => jobSpec(jobId, watch.data))).catch((error: Error) => {
      for (const { jobId } of jobs) this.settle(jobId, { results: null, error, fatal: true });
    });
  }

  /** Stops watching the jobs and withdraws those not started yet (running ones finish; their results are ignored). */
  forget(jobIds: Iterable<string>): void {
    for (const jobId of jobIds) {
      if (!this.watches.delete(jobId)) continue;
      if (this.link.redis.status === 'ready') this.queue.remove(jobId).catch(() => {});
    }
  }

  close(): void {
    clearInterval(this.timer);
  }

  private settle(jobId: string, outcome: ChunkOutcome): void {
    const watch = this.watches.get(jobId);
    // A job settles once: a late duplicate (a re-run elsewhere, or a missed event found by check()) is ignored.
    if (!watch) return;
    this.watches.delete(jobId);
    watch.settle(outcome);
  }

  private complete(jobId: string, value: ChunkJobResult | null | undefined): void {
    if (!this.watches.has(jobId)) return;
    let outcome: ChunkOutcome;
    if (value && typeof value === 'object' && 'results' in value) {
      outcome = { results: decodeValues(value.results), error: null, fatal: false };
    } else if (value && typeof value === 'object' && 'error' in value) {
      outcome = { results: null, error: decodeTaskError(value.error), fatal: false };
    } else {
      outcome = { results: null, error: failedJobError(jobId, `the job completed without a multiproc result (${String(value)})`), fatal: false };
    }
    this.settle(jobId, outcome);
  }

  private fail(jobId: string, reason: string): void {
    this.settle(jobId, { results: null, error: failedJobError(jobId, reason), fatal: false });
  }

  private failAll(error: ClusterConnectionError): void {
    for (const jobId of [...this.watches.keys()]) this.settle(jobId, { results: null, error, fatal: true });
  }

  /** Finds jobs whose end was missed, and adds again jobs that Redis lost. */
  private async check(): Promise<void> {
    if (this.checking || this.watches.size === 0 || Date.now() - this.lastEvent < QUIET_MS) return;
    if (this.link.redis.status !== 'ready') return;
    this.checking = true;
    try {
      const ids = [...this.watches.keys()].slice(0, CHECK_BATCH);
      const jobs = await Promise.all(ids.map((id) => this.queue.getJob(id)));
      const lost: string[] = [];
      for (let i = 0; i < ids.length; i++) {
        const job = jobs[i];
        if (!job) lost.push(ids[i]);
        else if (job.finishedOn && job.failedReason && (await job.isFailed())) this.fail(ids[i], job.failedReason);
        else if (job.finishedOn && (await job.isCompleted())) this.complete(ids[i], job.returnvalue as ChunkJobResult);
      }
      const again = lost.filter((id) => this.watches.has(id)).map((id) => jobSpec(id, this.watches.get(id)!.data));
      if (again.length > 0) await this.queue.addBulk(again);
    } catch {
      // Redis went away during the check; the link's watchdog decides when that is an error.
    } finally {
      this.checking = false;
    }
  }
}

function jobSpec(jobId: string, data: ChunkJobData) {
  return {
    name: data.name,
    data,
    opts: {
      jobId,
      // A chunk that kills its worker is retried by BullMQ; the worker fails it for good at the last attempt.
      attempts: data.attempts,
      // Kept a while after the end, so that check() can still read a result whose event was missed.
      removeOnComplete: { age: 300 },
      removeOnFail: { age: 3600 },
    },
  };
}
