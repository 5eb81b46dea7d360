/**
 * The lazy, bounded iterator behind imap and imapUnordered: it reads the
 * input (sync or async, possibly endless) only as far as a window of chunks
 * in flight allows, and withdraws queued chunks when the consumer stops.
 */
import { argumentList } from '../checks.ts';
import { ChunkOutcomes } from './chunk-outcomes.ts';
import type { ChunkResults } from './pool-protocol.ts';
import { encodeChunk } from './map-chunks.ts';
import type { ProgressReporter } from './progress.ts';

/**
 * What the iterator needs of a pool: submit a chunk, withdraw a queued one.
 * The local Dispatcher is one; a distributed pool can be another.
 */
export interface ChunkRunner<J> {
  submit(fnId: number, star: boolean, items: unknown[], onSettle: (error: Error | null, results: ChunkResults | null) => void): J;
  cancel(job: J, error: Error): boolean;
}

export interface IterateOptions {
  chunksize: number;
  ordered: boolean;
  star: boolean;
  /** Chunks sent but not yet consumed, at most; bounds memory for endless inputs. */
  window: number;
  progress: ProgressReporter;
  /** Replaces a large array item by its shared stand-in (see shared-arguments.ts). */
  share: (item: unknown) => unknown;
  total: number | null;
  method: string;
}

/** The lazy, bounded iterator behind imap/imapUnordered. */
export async function* iterateResults<R, J = unknown>(
  dispatcher: ChunkRunner<J>,
  fnId: number,
  items: Iterable<unknown> | AsyncIterable<unknown>,
  options: IterateOptions,
): AsyncGenerator<R, void, undefined> {
  const source: Iterator<unknown> | AsyncIterator<unknown> =
    Symbol.asyncIterator in items ? (items as AsyncIterable<unknown>)[Symbol.asyncIterator]() : (items as Iterable<unknown>)[Symbol.iterator]();
  const outcomes = new ChunkOutcomes<{ error: Error | null; results: ChunkResults | null }>(options.ordered);
  const jobs = new Map<number, J>();
  let sent = 0;
  let itemIndex = 0;
  let completed = 0;
  let exhausted = false;

  const fill = async () => {
    while (!exhausted && sent - outcomes.taken < options.window) {
      const chunk: unknown[] = [];
      while (chunk.length < options.chunksize) {
        const step = await source.next();
        if (step.done) {
          exhausted = true;
          break;
        }
        chunk.push(options.star ? argumentList(step.value, `${options.method}: items[${itemIndex + chunk.length}]`) : options.share(step.value));
      }
      if (chunk.length === 0) break;
      const encoded = encodeChunk(chunk, itemIndex, 'items');
      itemIndex += chunk.length;
      const index = sent++;
      const size = chunk.length;
      const job = dispatcher.submit(fnId, options.star, encoded, (error, results) => {
        jobs.delete(index);
        completed += size;
        options.progress.report?.(completed, options.total);
        outcomes.settle(index, { error, results });
      });
      jobs.set(index, job);
    }
  };

  try {
    for (;;) {
      await fill();
      const outcome = outcomes.take();
      if (outcome) {
        if (outcome.error) throw outcome.error;
        for (const result of outcome.results!) yield result as R;
        continue;
      }
      if (exhausted && outcomes.taken === sent) return;
      await outcomes.nextSettled();
    }
  } finally {
    options.progress.finish();
    // Stopped early (break, or an error): queued chunks are withdrawn, the input is closed.
    for (const job of jobs.values()) dispatcher.cancel(job, new Error(`${options.method} iteration was stopped`));
    if (!exhausted) await source.return?.();
  }
}
