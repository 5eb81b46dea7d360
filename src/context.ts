/**
 * Start-method selection and contexts: the same API bound to one start
 * method, as Python's multiprocessing.get_context().
 */
import { cpuCount } from './platform/cpu-count.ts';
import type { StartMethodName } from './process/launch-payload.ts';
import { Lock, RLock } from './sync/lock.ts';
import { Semaphore, BoundedSemaphore } from './sync/semaphore.ts';
import { Event } from './sync/event.ts';
import { Condition } from './sync/condition.ts';
import { Barrier } from './sync/barrier.ts';
import { RawValue, Value } from './shared/shared-value.ts';
import { RawArray, SharedArray } from './shared/shared-array.ts';
import { Queue } from './channels/queue.ts';
import { JoinableQueue } from './channels/joinable-queue.ts';
import { SimpleQueue } from './channels/simple-queue.ts';
import { Pipe } from './channels/connection.ts';
import { Pool, type PoolOptions } from './pool/pool.ts';
import { ProcessPoolExecutor, type ProcessPoolExecutorOptions } from './pool/process-pool-executor.ts';
import { Manager as startManager, type ManagerOptions, type SyncManager } from './managers/sync-manager.ts';
import { Process, processClassFor } from './process/process.ts';
import { currentProcess, parentProcess } from './process/current-process.ts';
import { activeChildren, getDefaultStartMethod, setDefaultStartMethod } from './process/children.ts';
import { InvalidStateError } from './errors.ts';
import { startMethods } from './process/start-methods.ts';
import { currentState } from './process/process-identity.ts';
import { checkOptions, checkSignal } from './checks.ts';
import { settleWithin } from './sync/settle-within.ts';

const ALL_START_METHODS: readonly StartMethodName[] = ['fork', 'spawn', 'forkserver'];
let startMethodChosen = false;

function checkMethod(method: unknown, argument: string): StartMethodName {
  if (typeof method !== 'string' || !ALL_START_METHODS.includes(method as StartMethodName)) {
    throw new TypeError(
      `cannot find context for ${JSON.stringify(method)}: ${argument} must be one of ${ALL_START_METHODS.join(', ')}`,
    );
  }
  return method as StartMethodName;
}

/**
 * The multiproc API with every process bound to one start method, as
 * Python's contexts: `ctx.Process`, `ctx.Pool` and `ctx.ProcessPoolExecutor`
 * start their processes with it; the shared objects are the same classes
 * in every context, since they do not depend on how a process started.
 */
export class Context {
  /** Process class whose start() uses this context's start method. */
  readonly Process: typeof Process;
  /** Pool whose workers use this context's start method. */
  readonly Pool: typeof Pool;
  /** ProcessPoolExecutor whose workers use this context's start method. */
  readonly ProcessPoolExecutor: typeof ProcessPoolExecutor;
  readonly currentProcess = currentProcess;
  readonly parentProcess = parentProcess;
  readonly activeChildren = activeChildren;
  readonly cpuCount = cpuCount;
  readonly Lock = Lock;
  readonly RLock = RLock;
  readonly Semaphore = Semaphore;
  readonly BoundedSemaphore = BoundedSemaphore;
  readonly Event = Event;
  readonly Condition = Condition;
  readonly Barrier = Barrier;
  readonly Value = Value;
  readonly RawValue = RawValue;
  readonly SharedArray = SharedArray;
  readonly RawArray = RawArray;
  readonly Queue = Queue;
  readonly JoinableQueue = JoinableQueue;
  readonly SimpleQueue = SimpleQueue;
  readonly Pipe = Pipe;

  constructor(private readonly method: StartMethodName) {
    this.Process = processClassFor(method);
    // Contexts are made at run time (getContext), after pool.ts has loaded.
    const context = this;
    this.Pool = class extends Pool {
      constructor(options: PoolOptions = {}) {
        super({ context, ...options });
      }
    };
    this.ProcessPoolExecutor = class extends ProcessPoolExecutor {
      constructor(options: ProcessPoolExecutorOptions = {}) {
        super({ context, ...options });
      }
    };
  }

  /** The start method this context is bound to. */
  getStartMethod(): StartMethodName {
    return this.method;
  }

  /**
   * Gets this start method ready ahead of the first start(), without
   * blocking the event loop: for forkserver, and for fork in a program that
   * is not fork-ready, it boots the zygote children are forked from, which
   * a first start() (or a cold Pool) would otherwise wait for, blocked.
   * Resolves once the zygote can fork, or at once where there is nothing to
   * make ahead (spawn; fork in a fork-ready program; a child, or the zygote,
   * importing the main module, where an unguarded call runs again).
   * `signal` stops the wait, not the boot: the zygote is shared by later starts.
   */
  prepare(options: { signal?: AbortSignal } = {}): Promise<void> {
    checkOptions(options, 'prepare(options)');
    checkSignal(options.signal, 'prepare(options): options.signal');
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(signal.reason);
    // Unguarded top-level code, run again where a child (or the zygote) imports the main
    // module: nothing to get ready there, and a zygote must not boot one of its own.
    if (currentState.bootstrapping) return Promise.resolve();
    const ready = startMethods[this.method].prepare();
    return settleWithin(ready, { timeout: Infinity, signal: signal ?? undefined }).then(() => ready);
  }

  /** Starts a SyncManager whose server process uses this context's start method. */
  Manager(options: ManagerOptions = {}): Promise<SyncManager> {
    return startManager({ ...options, context: this });
  }
}

const contexts = new Map<StartMethodName, Context>();

/** The context for `method` (default: the current default start method). */
export function getContext(method?: StartMethodName): Context {
  const name = method === undefined ? getDefaultStartMethod() : checkMethod(method, 'method');
  let context = contexts.get(name);
  if (!context) {
    context = new Context(name);
    contexts.set(name, context);
  }
  return context;
}

/** Sets the default start method; a second call throws unless `{ force: true }`. */
export function setStartMethod(method: StartMethodName, options: { force?: boolean } = {}): void {
  const name = checkMethod(method, 'method');
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  if (startMethodChosen && !options.force) throw new InvalidStateError('context has already been set');
  setDefaultStartMethod(name);
  startMethodChosen = true;
}

/** The default start method: 'fork' unless setStartMethod() chose another. */
export function getStartMethod(): StartMethodName {
  return getDefaultStartMethod();
}

/** Every start method multiproc supports, default first. */
export function getAllStartMethods(): StartMethodName[] {
  return [...ALL_START_METHODS];
}
