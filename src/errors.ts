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
