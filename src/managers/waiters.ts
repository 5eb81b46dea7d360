/**
 * FIFO waiters with timeouts, the one blocking primitive of the manager's
 * referents: a waiter resolves true when woken, false when its timeout
 * passes, and a timed-out waiter leaves the list, so a wake is never spent
 * on it. Waiting never blocks the server: it is a pending Promise.
 */
import { checkTimeout, parseWait } from '../checks.ts';

export class Waiters {
  private readonly list: ((woken: boolean) => void)[] = [];

  get size(): number {
    return this.list.length;
  }

  /** Waits at most `timeoutMs` (null/undefined/Infinity: forever). */
  wait(timeoutMs: number | null | undefined): Promise<boolean> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const waiter = (woken: boolean) => {
        clearTimeout(timer);
        resolve(woken);
      };
      this.list.push(waiter);
      if (timeoutMs != null && timeoutMs !== Infinity) {
        timer = setTimeout(() => {
          const at = this.list.indexOf(waiter);
          if (at >= 0) this.list.splice(at, 1);
          resolve(false);
        }, Math.max(0, timeoutMs));
      }
    });
  }

  wakeOne(): boolean {
    const waiter = this.list.shift();
    waiter?.(true);
    return waiter !== undefined;
  }

  wakeAll(): void {
    for (const waiter of this.list.splice(0)) waiter(true);
  }
}

/**
 * Validates a timeout option, naming the method: ms, negative meaning "do not
 * wait" (as everywhere in multiproc, and in Python), or null/undefined for none.
 */
export function checkTimeoutOption(timeout: unknown, method: string): number | null {
  checkTimeout(timeout, `${method}: timeout`);
  return timeout === undefined || timeout === null ? null : Math.max(0, timeout);
}

/**
 * Reads the wait argument of a managed object's blocking method as every
 * blocking call of the library does (ms, null, or `{ timeout, block }`;
 * negative or `block: false`: do not wait): the ms to wait, or null for no
 * limit. A `signal` never gets here: an AbortSignal cannot be sent to the
 * manager, so the proxy call fails in the caller, naming it.
 */
export function managedWait(wait: unknown, method: string, defaultTimeout: number | null = null): number | null {
  const { timeout } = parseWait(wait, method, defaultTimeout);
  return timeout === Infinity ? null : timeout;
}

/** Milliseconds left until `deadline` (a performance.now() value), or null for no deadline. */
export function remaining(deadline: number | null): number | null {
  return deadline === null ? null : Math.max(0, deadline - performance.now());
}

export function deadlineOf(timeout: number | null): number | null {
  return timeout === null ? null : performance.now() + timeout;
}
