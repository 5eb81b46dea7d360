/**
 * The one error family of multiproc. Every error the library raises carries
 * a stable `code` (`ERR_MP_…`), so callers can branch on it without parsing
 * messages; the Python names (`Empty`, `Full`, `BrokenProcessPool`, …) are
 * kept as subclasses so that code ported from Python reads the same.
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
