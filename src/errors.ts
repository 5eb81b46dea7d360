/**
 * The one error family of multiproc. Every error the library raises carries
 * a stable `code` (`ERR_MP_…`), so callers can branch on it without parsing
 * messages; the Python names (`Empty`, `Full`, `BrokenProcessPool`, …) are
 * kept as subclasses so that code ported from Python reads the same. The
 * exception: a bad argument is a TypeError or RangeError naming it, thrown
 * in the caller, as Node's and Python's own checks do.
 */

/** Base class of every error multiproc raises; `code` is stable across releases. */
export class MultiprocError extends Error {
  /** A stable, machine-readable code such as `ERR_MP_EMPTY`. */
  readonly code: string;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** `getNowait()` / `get({ block: false })` found no item, or `get({ timeout })` timed out (Python: `queue.Empty`). */
export class Empty extends MultiprocError {
  constructor(message = 'the queue is empty') {
    super('ERR_MP_EMPTY', message);
  }
}

/** `putNowait()` / `put(..., { block: false })` found the queue full, or `put(..., { timeout })` timed out (Python: `queue.Full`). */
export class Full extends MultiprocError {
  constructor(message = 'the queue is full') {
    super('ERR_MP_FULL', message);
  }
}

/** `recv` on a connection whose every writer has closed (or died) and whose pipe is drained. */
export class EOFError extends MultiprocError {
  constructor(message = 'the other end of the pipe was closed and no message is left') {
    super('ERR_MP_EOF', message);
  }
}

/** `send` on a connection whose reading end was closed: nobody can receive the message. */
export class BrokenPipeError extends MultiprocError {
  constructor(message = 'the reading end of the pipe was closed') {
    super('ERR_MP_BROKEN_PIPE', message);
  }
}

/**
 * `recvBytesInto` got a message longer than the space left in the buffer.
 * The message is consumed; it travels in `data` (Python: `e.args[0]`).
 */
export class BufferTooShort extends MultiprocError {
  constructor(readonly data: Buffer) {
    super('ERR_MP_BUFFER_TOO_SHORT', `the buffer is too short for a message of ${data.length} bytes; the message is in error.data`);
  }
}

/**
 * A started process was needed: `Process.sentinel` (or `wait()` given the
 * Process) before `start()`, or on the current process (Python: ValueError
 * "process not started").
 */
export class ProcessNotStartedError extends MultiprocError {
  constructor(message = 'process not started') {
    super('ERR_MP_PROCESS_NOT_STARTED', message);
  }
}

/**
 * A call the object's state does not allow: a closed handle (connection,
 * queue, SharedMemory, Process), a Process started twice or joined before
 * start(), a pool or manager that is not running, a lock released by a
 * process that does not hold it, a semaphore released too many times (Python:
 * ValueError, AssertionError or RuntimeError, depending on the call).
 */
export class InvalidStateError extends MultiprocError {
  constructor(message: string, options?: ErrorOptions) {
    super('ERR_MP_INVALID_STATE', message, options);
  }
}

/** Thrown by Barrier.wait when the barrier is broken (aborted, reset, or a waiter timed out). */
export class BrokenBarrierError extends MultiprocError {
  constructor(message = 'the barrier is broken') {
    super('ERR_MP_BROKEN_BARRIER', message);
  }
}

/** Thrown by hold()/run() when a lock could not be acquired within the timeout (or at all, with `block: false`). */
export class AcquireTimeoutError extends MultiprocError {
  constructor(what: string) {
    super('ERR_MP_ACQUIRE_TIMEOUT', `${what} could not be acquired in time`);
  }
}

/**
 * Thrown when a value cannot be sent to another process; `path` names where
 * the value was found. Not a TypeError subclass (one family, one base): catch
 * it by class or by `code === 'ERR_MP_UNSERIALIZABLE'`.
 */
export class UnserializableError extends MultiprocError {
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super('ERR_MP_UNSERIALIZABLE', `${path} cannot be sent to another process: ${reason}`);
  }
}

// Pool errors
/** A result was not ready in time (Python's multiprocessing.TimeoutError), or a task outran its `timeout`. */
export class TimeoutError extends MultiprocError {
  constructor(message = 'the result was not ready in time') {
    super('ERR_MP_TIMEOUT', message);
  }
}

/** A pool worker died (killed, crashed, process.exit) while it was running the task. */
export class WorkerDiedError extends MultiprocError {
  constructor(
    message: string,
    /** Python's convention: exit status, or -N after signal N. */
    readonly exitCode: number | null,
  ) {
    super('ERR_MP_WORKER_DIED', message);
  }
}

/** The executor cannot run tasks any more: a worker died abruptly or an initializer failed. */
export class BrokenProcessPool extends MultiprocError {
  constructor(message = 'A child process terminated abruptly, the process pool is not usable anymore', options?: ErrorOptions) {
    super('ERR_MP_BROKEN_PROCESS_POOL', message, options);
  }
}

/** A Future was cancelled before it ran. */
export class CancelledError extends MultiprocError {
  constructor(message = 'the future was cancelled') {
    super('ERR_MP_CANCELLED', message);
  }
}

/** `apply`/`submit` found the pool's queue at its `maxQueue` limit; retry once results come back. */
export class QueueFullError extends MultiprocError {
  constructor(message: string) {
    super('ERR_MP_QUEUE_FULL', message);
  }
}

/** The stack of an exception raised in a worker; attached as `cause` of the re-thrown error. */
export class RemoteTraceback extends MultiprocError {
  constructor(stack: string) {
    super('ERR_MP_REMOTE_TRACEBACK', stack);
    this.stack = `RemoteTraceback:\n"""\n${stack}\n"""`;
  }
}
// End of pool errors

// Manager errors

/** A manager peer failed the authkey challenge (wrong key, or no answer): Python's AuthenticationError. */
export class AuthenticationError extends MultiprocError {
  constructor(message: string) {
    super('ERR_MP_AUTHENTICATION', message);
  }
}

/** A method of a managed object threw in the manager; `remoteName` and `remoteStack` are the manager's. */
export class RemoteError extends MultiprocError {
  constructor(
    readonly remoteName: string,
    remoteMessage: string,
    readonly remoteStack: string,
  ) {
    super('ERR_MP_REMOTE', `${remoteName}: ${remoteMessage}\n--- remote stack (manager) ---\n${remoteStack}`);
  }
}

/** The manager process has exited or its connection closed; every pending and later proxy call fails with it. */
export class ManagerGoneError extends MultiprocError {
  constructor(message: string) {
    super('ERR_MP_MANAGER_GONE', message);
  }
}

/** The proxy's referent no longer exists in the manager (released, or the manager was restarted). */
export class ReferentGoneError extends MultiprocError {
  constructor(message: string) {
    super('ERR_MP_REFERENT_GONE', message);
  }
}

// Cluster errors (multiproc/cluster: ClusterPool and `multiproc worker`)

/** Redis could not be reached for longer than the pool's `connectTimeout`; the calls waiting on it fail with this. */
export class ClusterConnectionError extends MultiprocError {
  constructor(message: string, options?: ErrorOptions) {
    super('ERR_MP_CLUSTER_CONNECTION', message, options);
  }
}

/** A chunk's job failed on a worker for a reason other than the task's own exception (which is re-thrown as is). */
export class ClusterJobFailedError extends MultiprocError {
  constructor(
    message: string,
    /** The BullMQ job id of the chunk. */
    readonly jobId: string,
    code = 'ERR_MP_CLUSTER_JOB_FAILED',
  ) {
    super(code, message);
  }
}

/** A worker refused a job: its function is not an export of a module the worker was started with. */
export class ClusterFunctionNotAllowedError extends ClusterJobFailedError {
  constructor(message: string, jobId: string) {
    super(message, jobId, 'ERR_MP_CLUSTER_FUNCTION_NOT_ALLOWED');
  }
}

/** A chunk killed the process running it (a pool child or a whole worker) as many times as `attempts` allows. */
export class ClusterChunkKilledWorkerError extends ClusterJobFailedError {
  constructor(message: string, jobId: string) {
    super(message, jobId, 'ERR_MP_CLUSTER_CHUNK_KILLED_WORKER');
  }
}
