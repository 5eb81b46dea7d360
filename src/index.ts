/**
 * multiproc: Python's multiprocessing model for TypeScript on Node.js.
 * This file only re-exports the public API.
 */
export { Process, type ProcessOptions, currentProcess, parentProcess, activeChildren } from './process.ts';
export {
  Context,
  getContext,
  setStartMethod,
  getStartMethod,
  getAllStartMethods,
  cpuCount,
} from './context.ts';
export { setForkserverPreload } from './popen-forkserver.ts';
export { isMainModule } from './main-module.ts';
export type { StartMethodName } from './launch-payload.ts';
export {
  type Shareable,
  type ReducedShareable,
  reduceForTransfer,
  registerShareable,
  UnserializableError,
} from './shareable.ts';
export {
  Pipe,
  Connection,
  type PipeOptions,
  type RecvOptions,
} from './connection.ts';
export { Queue, type QueueOptions, type WaitOptions } from './queue.ts';
export { JoinableQueue } from './joinable-queue.ts';
export { SimpleQueue } from './simple-queue.ts';
export { Empty, Full, EOFError, BrokenPipeError, BufferTooShort } from './channel-errors.ts';
export {
  Pool,
  type PoolOptions,
  type TaskOptions,
  type ApplyAsyncOptions,
  type MapOptions,
  type MapAsyncOptions,
  type ImapOptions,
} from './pool.ts';
export { AsyncResult } from './async-result.ts';
export {
  ProcessPoolExecutor,
  type Future,
  type ProcessPoolExecutorOptions,
  type ExecutorMapOptions,
  type ShutdownOptions,
} from './process-pool-executor.ts';
export { BrokenProcessPool, TimeoutError, WorkerDiedError, CancelledError, RemoteTraceback } from './pool-errors.ts';
export type { ProgressCallback } from './pool-map.ts';
export { SharedMemory, type SharedMemoryOptions } from './shared-memory.ts';
export { ShareableList, type ShareableItem } from './shareable-list.ts';
export { Value, RawValue, type SynchronizedOptions, type Typecode, type ElementOf } from './shared-value.ts';
export { SharedArray, RawArray } from './shared-array.ts';
export { Lock, RLock, type AnyLock } from './lock.ts';
export { Semaphore, BoundedSemaphore } from './semaphore.ts';
export { Event } from './event.ts';
export { Condition } from './condition.ts';
export { Barrier, BrokenBarrierError, type BarrierOptions } from './barrier.ts';
export { AcquireTimeoutError, type Held } from './acquirable.ts';
export type { AcquireOptions, WaitOptions as SyncWaitOptions } from './wait-plan.ts';
