/**
 * multiproc: Python's multiprocessing model for TypeScript on Node.js.
 * This file only re-exports the public API.
 */
import './shareable-kinds.ts';
export { Process, type ProcessOptions } from './process/process.ts';
export { currentProcess, parentProcess } from './process/current-process.ts';
export { activeChildren } from './process/children.ts';
export {
  Context,
  getContext,
  setStartMethod,
  getStartMethod,
  getAllStartMethods,
} from './context.ts';
export { cpuCount } from './platform/cpu-count.ts';
export {
  MultiprocError,
  Empty,
  Full,
  EOFError,
  BrokenPipeError,
  BufferTooShort,
  BrokenBarrierError,
  AcquireTimeoutError,
  UnserializableError,
  ProcessNotStartedError,
  InvalidStateError,
} from './errors.ts';
export { setForkserverPreload } from './process/popen-forkserver.ts';
export { isMainModule } from './process/main-module.ts';
export type { StartMethodName } from './process/launch-payload.ts';
export {
  type Shareable,
  type ReducedShareable,
  reduceForTransfer,
  registerShareable,
} from './transfer/shareable.ts';
export {
  Pipe,
  Connection,
  type PipeOptions,
  type RecvOptions,
} from './channels/connection.ts';
export { Queue, type QueueOptions } from './channels/queue.ts';
/** Python's `multiprocessing.connection.wait`: the ready subset of Connections, queues and processes (or sentinels); a Promise, plus a blocking form. */
export { wait, waitSync, type WaitObject } from './process/connection-wait.ts';
/** `process.sentinel`: what `wait()` reports ready once that process has ended. */
export { ProcessSentinel } from './process/process-sentinel.ts';
export { JoinableQueue } from './channels/joinable-queue.ts';
export { SimpleQueue } from './channels/simple-queue.ts';
export {
  Pool,
  type PoolOptions,
  type TaskOptions,
  type ApplyAsyncOptions,
  type MapOptions,
  type MapAsyncOptions,
  type ImapOptions,
} from './pool/pool.ts';
export { AsyncResult } from './pool/async-result.ts';
export {
  ProcessPoolExecutor,
  type Future,
  type ProcessPoolExecutorOptions,
  type ExecutorMapOptions,
  type ShutdownOptions,
} from './pool/process-pool-executor.ts';
export { BrokenProcessPool, TimeoutError, WorkerDiedError, CancelledError, RemoteTraceback, QueueFullError } from './errors.ts';
export type { ProgressCallback } from './pool/progress.ts';
/** Pool statistics (`pool.stats()`) and the worker options Pool and ProcessPoolExecutor share. */
export type { PoolStats, DurationSummary } from './pool/pool-stats.ts';
export type { WorkerOptions } from './pool/worker-settings.ts';
/** In a pool task: what the pool's initializer returned in this worker. */
export { workerState } from './pool/worker-state.ts';
/** One warm, resizable Pool shared across calls, whose idle workers exit (loky's reusable executor). */
export { getReusablePool, type ReusablePoolOptions } from './pool/reusable-pool.ts';
export { SharedMemory, type SharedMemoryOptions } from './shared/shared-memory.ts';
export { ShareableList, type ShareableItem } from './shared/shareable-list.ts';
export { Value, RawValue, type SynchronizedOptions, type Typecode, type ElementOf } from './shared/shared-value.ts';
export { SharedArray, RawArray } from './shared/shared-array.ts';
export { Lock, RLock, type AnyLock } from './sync/lock.ts';
export { Semaphore, BoundedSemaphore } from './sync/semaphore.ts';
export { Event } from './sync/event.ts';
export { Condition } from './sync/condition.ts';
export { Barrier, type BarrierOptions } from './sync/barrier.ts';
export type { Held } from './sync/acquirable.ts';
export type { Wait, WaitOptions } from './checks.ts';
/** How the current process was made: 'main', a 'booted' Node, or 'forked' from the forkserver zygote. */
export { processOrigin, type ProcessOrigin } from './process/fork-support.ts';
// Managers
/** Starts a manager server process and resolves with its SyncManager (Python's `multiprocessing.Manager()`). */
export { Manager, SyncManager, type ManagerOptions, type ManagedPoolCreateOptions } from './managers/sync-manager.ts';
/** The proxy of manager.Pool() and of its AsyncResults. */
export { PoolProxy, type AsyncResultProxy, type ManagedPoolCallOptions, type ManagedPoolAsyncOptions } from './managers/pool-proxy.ts';
/** Python's `BaseManager`: register custom typeids, `start()`, `connect()` to, or `serveForever()` a manager. */
export { BaseManager, type BaseManagerOptions, type RegisterOptions } from './managers/base-manager.ts';
/** A proxy of a managed object: its methods as Promises, plus `…Sync` forms. */
export { BaseProxy, type Proxy, type AsyncMethods, type SyncMethods } from './managers/proxy.ts';
/** The address a manager listens on: a socket path, or TCP host and port. */
export type { ManagerAddress } from './managers/protocol.ts';
/** Errors of managers: a wrong authkey, a method that threw in the manager, a manager or referent gone. */
export { AuthenticationError, RemoteError, ManagerGoneError, ReferentGoneError } from './errors.ts';
