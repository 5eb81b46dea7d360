/**
 * The child side of a pool: the module-level function every pool worker
 * runs as its Process target. It serves tasks from the control channel in
 * order, one at a time, and sends results back in batches.
 */
import { performance } from 'node:perf_hooks';
import { parentProcess } from '../process/current-process.ts';
import { controlChannel } from '../process/process-internals.ts';
import { attachBlock } from '../platform/shared-heap.ts';
import { importDefiningModule, importDefinitionModules, resolveFunction } from '../transfer/function-resolver.ts';
import type { FunctionReference } from '../transfer/function-reference.ts';
import { decodeFromTransfer } from '../transfer/shareable.ts';
import { describeRemoteError } from './remote-error.ts';
import {
  CELL_COUNT,
  CELL_READY,
  CELL_RUNNING,
  encodeValue,
  type FromWorker,
  type RunTasks,
  type ToWorker,
  type WorkerLaunch,
} from './pool-protocol.ts';
import { ChunkResultPacker } from './number-results.ts';
import { WorkerLane } from './number-lane-worker.ts';
import { setWorkerState, workerStateValue } from './worker-state.ts';
import { ExitOrder, onProcessExit } from '../platform/exit-hooks.ts';

/** Tasks finished before results are sent; flushing part-way lets the parent refill our queue while we work. */
const FLUSH_EVERY = 16;
/** Items finished before results are sent: big chunks go back one by one, so sending overlaps the next chunk's work. */
const FLUSH_ITEMS = 4096;
/** Milliseconds of finished work before results are sent: slow tasks report promptly, and a crash loses little. */
const FLUSH_AFTER_MS = 4;

// A worker serves whatever functions later tasks name, so the first import of
// a module keeps all its top-level functions: an exported task first must not
// leave an unexported one of the same module unfindable afterwards.
async function resolveTaskFunction(ref: FunctionReference, label: string): Promise<Function> {
  const namespace = await importDefiningModule(ref, true);
  return resolveFunction(ref, namespace, label);
}

/** Decodes a batch's items once its function is found: functions inside them are found the same way. */
async function decodeItems(items: unknown[]): Promise<unknown[]> {
  await importDefinitionModules(items, true);
  return decodeFromTransfer(items) as unknown[];
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as PromiseLike<unknown>).then === 'function'
  );
}

/** A received RunTasks message and how far we are through it. */
interface Batch {
  message: RunTasks;
  fn: Function | null;
  task: number;
}

/**
 * Serves pool tasks until told to stop or until `maxTasks` tasks have run.
 * Not for direct use: Pool and ProcessPoolExecutor start it.
 */
export async function poolWorkerMain(launch: WorkerLaunch): Promise<void> {
  const { initializer, initargs, finalizer, maxTasks, reportRss } = launch;
  const parent = parentProcess();
  if (!parent) throw new Error('poolWorkerMain runs only in a pool worker process');
  const channel = controlChannel(parent);
  channel.ref();
  const block = attachBlock(launch.cells);
  // The parent reads these after a crash: which task was running, and whether init had finished.
  const cells = new Int32Array(block.buffer, block.offset, CELL_COUNT);
  if (initializer) {
    try {
      const init = await resolveTaskFunction(initializer, 'initializer');
      // The initializer's result is this worker's state, for workerState() in tasks.
      setWorkerState(await init(...initargs));
    } catch (error) {
      channel.send([{ kind: 'initErr', error: describeRemoteError(error) } satisfies FromWorker]);
      channel.unref();
      process.exitCode = 1;
      return;
    }
  }
  Atomics.store(cells, CELL_READY, 1);

  const functions = new Map<number, Promise<Function>>();
  const lane = new WorkerLane();
  const queue: Batch[] = [];
  const failures: FromWorker[] = [];
  let okIds: number[] = [];
  let okResults: unknown[] = [];
  let okChunked = false;
  let okRunMs: number[] = [];
  let unsent = 0;
  let unsentItems = 0;
  let unsentMs = 0;
  let stopping = false;
  let running = false;
  let done = 0;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));

  const flush = () => {
    const out: FromWorker[] = [];
    if (okIds.length > 0) {
      const ok: FromWorker = { kind: 'ok', ids: okIds, results: okResults, chunked: okChunked, runMs: okRunMs };
      if (reportRss) ok.rss = process.memoryUsage.rss();
      out.push(ok);
    }
    out.push(...failures.splice(0));
    okIds = [];
    okResults = [];
    okRunMs = [];
    okChunked = false;
    unsent = 0;
    unsentItems = 0;
    unsentMs = 0;
    if (out.length > 0) channel.send(out);
  };

  /** Records a finished task: `results` is its chunk's results (chunked), or its one result. */
  const succeed = (id: number, results: unknown, size: number, chunked: boolean, runMs: number) => {
    // A batch of results is laid out one way; switch layout by flushing first.
    if (okIds.length > 0 && chunked !== okChunked) flush();
    okChunked = chunked;
    okIds.push(id);
    okRunMs.push(runMs);
    okResults.push(results);
    unsentItems += size;
    unsentMs += runMs;
  };

  /** Runs one task (chunk); returns a promise only if the function returned one. */
  const runTask = (batch: Batch): void | Promise<void> => {
    const { message } = batch;
    const id = message.ids[batch.task];
    const laneRef = message.lane?.[batch.task] ?? null;
    const chunk = laneRef ? (lane.items(laneRef) as unknown as unknown[]) : message.chunked ? (message.items[batch.task] as unknown[]) : null;
    const size = chunk ? chunk.length : 1;
    const single = message.items[batch.task];
    batch.task++;
    const started = performance.now();
    Atomics.store(cells, CELL_RUNNING, id);
    const fail = (error: unknown) => {
      Atomics.store(cells, CELL_RUNNING, 0);
      failures.push({ kind: 'err', id, error: describeRemoteError(error), runMs: performance.now() - started });
    };
    // A chunk's results are packed as they come (number-results.ts); a single task's is just encoded.
    const packer = laneRef ? lane.packer(laneRef) : chunk ? new ChunkResultPacker(size) : null;
    let result: unknown;
    const fn = batch.fn!;
    const step = (i: number): void | Promise<void> => {
      for (; i < size; i++) {
        const item = chunk ? chunk[i] : single;
        const value = message.star ? fn(...(item as unknown[])) : fn(item);
        if (isThenable(value)) {
          // The parent may be waiting for what we finished so far.
          flush();
          return Promise.resolve(value).then((settled) => {
            if (packer) packer.add(settled);
            else result = encodeValue(settled, 'result');
            return step(i + 1);
          });
        }
        if (packer) packer.add(value);
        else result = encodeValue(value, 'result');
      }
      Atomics.store(cells, CELL_RUNNING, 0);
      const results = packer ? (laneRef ? lane.reply(packer.finish()) : packer.finish()) : result;
      succeed(id, results, size, message.chunked, performance.now() - started);
    };
    try {
      const pending = step(0);
      if (pending) return pending.catch(fail);
    } catch (error) {
      fail(error);
    }
  };

  const pump = async (): Promise<void> => {
    running = true;
    while (queue.length > 0) {
      const batch = queue[0];
      if (!batch.fn) {
        // Importing the task's module runs user code too: a crash there is blamed on the first task.
        Atomics.store(cells, CELL_RUNNING, batch.message.ids[0]);
        try {
          batch.fn = await functions.get(batch.message.fn)!;
          if (batch.message.lane) lane.check();
          batch.message.items = await decodeItems(batch.message.items);
        } catch (error) {
          for (const id of batch.message.ids) failures.push({ kind: 'err', id, error: describeRemoteError(error), runMs: 0 });
          queue.shift();
          continue;
        } finally {
          Atomics.store(cells, CELL_RUNNING, 0);
        }
      }
      // Synchronous functions run in a tight loop; only a returned promise makes us await.
      while (batch.task < batch.message.ids.length) {
        const pending = runTask(batch);
        if (pending) await pending;
        done++;
        if (++unsent >= FLUSH_EVERY || unsentItems >= FLUSH_ITEMS || unsentMs >= FLUSH_AFTER_MS) flush();
        if (maxTasks !== null && done >= maxTasks) stopping = true;
      }
      queue.shift();
    }
    flush();
    running = false;
    if (stopping) finish();
  };

  channel.onMessage((wire) => {
    for (const message of wire as ToWorker[]) {
      if (message.kind === 'fn') {
        const resolving = resolveTaskFunction(message.ref, 'task function');
        resolving.catch(() => {});
        functions.set(message.fn, resolving);
      } else if (message.kind === 'tasks') {
        queue.push({ message, fn: null, task: 0 });
      } else if (message.kind === 'lane') {
        lane.attach(message.name);
      } else {
        stopping = true;
      }
    }
    if (!running) {
      if (queue.length > 0) void pump();
      else if (stopping) finish();
    }
  });
  // A task that calls process.exit() must not take its finished neighbours' results with it.
  const stopFlushAtExit = onProcessExit(ExitOrder.flushResults, flush);
  await finished;
  stopFlushAtExit();
  if (finalizer) {
    try {
      const finalize = await resolveTaskFunction(finalizer, 'finalizer');
      await finalize(workerStateValue());
    } catch (error) {
      channel.send([{ kind: 'finErr', error: describeRemoteError(error) } satisfies FromWorker]);
    }
  }
  channel.onMessage(null);
  channel.unref();
}
