/**
 * The platform-style helpers shared by every lock-like primitive (Lock,
 * RLock, Semaphore, BoundedSemaphore): scoped holding with `using` /
 * `await using`, and running a function under the lock.
 */
import type { Wait } from '../checks.ts';
import { AcquireTimeoutError } from '../errors.ts';

/**
 * A held acquisition. Releasing it (explicitly, or by leaving a `using` /
 * `await using` scope) releases the lock once; further releases do nothing.
 */
export interface Held extends Disposable, AsyncDisposable {
  release(): void;
}

/** Base class of lock-like primitives: subclasses supply acquire/acquireSync/release. */
export abstract class Acquirable {
  /** Waits (without blocking the event loop) to acquire; resolves true if acquired, false on timeout or block: false. */
  abstract acquire(wait?: Wait): Promise<boolean>;
  /** Blocks the calling thread to acquire; true if acquired, false on timeout or block: false. */
  abstract acquireSync(wait?: Wait): boolean;
  /** Releases one acquisition. */
  abstract release(): void;

  private held(): Held {
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      this.release();
    };
    return {
      release,
      [Symbol.dispose]: release,
      [Symbol.asyncDispose]: async () => release(),
    };
  }

  /**
   * Acquires and returns a handle that releases on scope exit:
   * `await using held = await lock.hold()`. Throws AcquireTimeoutError
   * if not acquired (timeout passed, or block: false and busy).
   */
  async hold(wait?: Wait): Promise<Held> {
    if (!(await this.acquire(wait))) throw new AcquireTimeoutError(this.constructor.name);
    return this.held();
  }

  /** Synchronous hold(): `using held = lock.holdSync()`. */
  holdSync(wait?: Wait): Held {
    if (!this.acquireSync(wait)) throw new AcquireTimeoutError(this.constructor.name);
    return this.held();
  }

  /** Runs `fn` while holding the lock (async acquire), releasing it however `fn` ends. */
  async run<T>(fn: () => T | Promise<T>, wait?: Wait): Promise<T> {
    if (typeof fn !== 'function') throw new TypeError('run: fn must be a function');
    if (!(await this.acquire(wait))) throw new AcquireTimeoutError(this.constructor.name);
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  /** Runs synchronous `fn` while holding the lock (blocking acquire). */
  runSync<T>(fn: () => T, wait?: Wait): T {
    if (typeof fn !== 'function') throw new TypeError('runSync: fn must be a function');
    if (!this.acquireSync(wait)) throw new AcquireTimeoutError(this.constructor.name);
    try {
      return fn();
    } finally {
      this.release();
    }
  }
}
