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
