/**
 * Client side of one map-like call: reads the input lazily, sends it as
 * chunk jobs with a bounded number out at a time (so a large or endless input
 * is never held whole in Redis), and yields each chunk's outcome, in input
 * order or as they arrive. map, starmap, imap, imapUnordered and apply are
 * all built on it.
 */
import { argumentList } from '../checks.ts';
import { ChunkOutcomes } from '../pool/chunk-outcomes.ts';
import { randomUUID } from 'node:crypto';
import { abortError } from '../pool/task-failures.ts';
import type { ProgressCallback } from '../pool/progress.ts';
import { encodeValues, JOB_FORMAT_VERSION } from './job-format.ts';
import type { ChunkOutcome, JobTracker } from './job-tracker.ts';
import type { TaskReference } from './task-module.ts';

/** Jobs in a call's first addBulk; later ones double up to the window. */
const FIRST_BATCH = 32;

export interface FeedOptions {
  reference: TaskReference;
  star: boolean;
  chunksize: number;
  /** Chunks out (sent, not yet consumed), at most. */
  window: number;
  timeout: number | null;
  attempts: number;
  signal: AbortSignal | null;
  onProgress: ProgressCallback | null;
  total: number | null;
  ordered: boolean;
  method: string;
}

/** One chunk's outcome, with the index of its first item. */
export interface FedChunk extends ChunkOutcome {
  start: number;
}

export async function* feedChunks(
  tracker: JobTracker,
  items: Iterable<unknown> | AsyncIterable<unknown>,
  options: FeedOptions,
): AsyncGenerator<FedChunk, void, undefined> {
  const source: Iterator<unknown> | AsyncIterator<unknown> =
    Symbol.asyncIterator in items ? (items as AsyncIterable<unknown>)[Symbol.asyncIterator]() : (items as Iterable<unknown>)[Symbol.iterator]();
  const callId = randomUUID();
  const outcomes = new ChunkOutcomes<FedChunk>(options.ordered);
  const out = new Map<number, string>();
  const progress = new Map<number, number>();
  let sent = 0;
  let itemIndex = 0;
  let completed = 0;
  let exhausted = false;
  const onAbort = () => outcomes.nudge();
  options.signal?.addEventListener('abort', onAbort);

  const report = (index: number, done: number) => {
    // A chunk run again elsewhere starts over; the count only ever grows.
    const before = progress.get(index) ?? 0;
    if (done <= before) return;
    progress.set(index, done);
    completed += done - before;
    options.onProgress?.(completed, options.total);
  };

  const fill = async () => {
    // Refill once half the window is free, in one addBulk, rather than one job per completion.
    if (sent >= options.window && sent - outcomes.taken > options.window / 2) return;
    // The first batches are small and double: Redis runs an addBulk whole before anything else, so
    // one of a full window would keep the workers waiting until the last job of it is in.
    const limit = Math.max(FIRST_BATCH, sent);
    const batch: { jobId: string; watch: Parameters<JobTracker['add']>[0][number]['watch'] }[] = [];
    while (!exhausted && sent - outcomes.taken < options.window && batch.length < limit) {
      const chunk: unknown[] = [];
      while (chunk.length < options.chunksize) {
        const step = await source.next();
        if (step.done) {
          exhausted = true;
          break;
        }
        chunk.push(options.star ? argumentList(step.value, `${options.method}: items[${itemIndex + chunk.length}]`) : step.value);
      }
      if (chunk.length === 0) break;
      const index = sent++;
      const start = itemIndex;
      const size = chunk.length;
      itemIndex += size;
      const jobId = `${callId}-${index}`;
      out.set(index, jobId);
      const data = {
        v: JOB_FORMAT_VERSION,
        module: options.reference.module,
        name: options.reference.name,
        star: options.star,
        items: encodeValues(chunk),
        count: size,
        timeout: options.timeout,
        attempts: options.attempts,
      } as const;
      batch.push({
        jobId,
        watch: {
          data,
          progress: (done) => report(index, Math.min(done, size)),
          settle: (outcome) => {
            out.delete(index);
            if (outcome.results) report(index, size);
            outcomes.settle(index, { ...outcome, start });
          },
        },
      });
    }
    if (batch.length > 0) tracker.add(batch);
  };

  try {
    for (;;) {
      if (options.signal?.aborted) throw abortError(options.signal);
      await fill();
      const outcome = outcomes.take();
      if (outcome) {
        // Redis unreachable ends the whole call at once; other errors are the caller's to weigh.
        if (outcome.fatal) throw outcome.error;
        yield outcome;
        continue;
      }
      if (exhausted && outcomes.taken === sent) return;
      await outcomes.nextSettled();
    }
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    // Stopped early (break, abort, an error): chunks not started are withdrawn, the input is closed.
    tracker.forget(out.values());
    if (!exhausted) await source.return?.();
  }
}
