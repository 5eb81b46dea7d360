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
