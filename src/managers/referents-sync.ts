/**
 * The synchronisation objects a manager holds (Python's manager.Lock(),
 * manager.Event(), ...): plain in-memory state in the manager, waited on
 * with Promises so that one blocked caller never stalls the others. A lock
 * released while others wait is handed to the first of them, so no caller
 * can barge past a waiter. Ownership (RLock, Condition) is the calling
 * process, as told by callContext.
 */
import { BrokenBarrierError } from '../errors.ts';
import { callContext } from './call-context.ts';
import { Waiters, checkTimeoutOption, deadlineOf, managedWait, remaining } from './waiters.ts';
import type { WaitOptions } from '../checks.ts';

/** The wait argument of acquire() and wait(): ms, or `{ timeout, block }`, as the library's own primitives take. */
export type ManagedWait = number | null | Omit<WaitOptions, 'signal'>;

/** Options of a managed Barrier: its default wait timeout. */
export interface ManagedWaitOptions {
  timeout?: number | null;
}

abstract class HandoffLock {
  protected held = false;
  protected owner = '';
  /** Waiting acquirers; a release hands the lock (and its ownership) to the first at once. */
  private readonly queue: { owner: string; grant(): void }[] = [];

  protected take(wait: ManagedWait | undefined, method: string, owner = callContext.owner): Promise<boolean> {
    const limit = managedWait(wait, method);
    if (!this.held) {
      this.held = true;
      this.owner = owner;
      return Promise.resolve(true);
    }
    if (limit === 0) return Promise.resolve(false);
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const entry = { owner, grant: () => (clearTimeout(timer), resolve(true)) };
      this.queue.push(entry);
      if (limit !== null) {
        timer = setTimeout(() => {
          this.queue.splice(this.queue.indexOf(entry), 1);
          resolve(false);
        }, limit);
      }
    });
  }

  /** Hands the lock to the first waiter (true), or frees it (false). */
  protected passOn(): boolean {
    const next = this.queue.shift();
    if (next) {
      this.owner = next.owner;
      next.grant();
      return true;
    }
    this.held = false;
    this.owner = '';
    return false;
  }

  locked(): boolean {
    return this.held;
  }
}

/** Python's threading.Lock in the manager: anyone may release it. */
export class ManagedLock extends HandoffLock {
  acquire(wait?: ManagedWait): Promise<boolean> {
    return this.take(wait, 'Lock.acquire');
  }

  release(): void {
    if (!this.held) throw new Error('release unlocked lock');
    this.passOn();
  }
}

/** Python's threading.RLock in the manager: re-entrant for the process that holds it. */
export class ManagedRLock extends HandoffLock {
  private count = 0;

  async acquire(wait?: ManagedWait): Promise<boolean> {
    if (this.held && this.owner === callContext.owner) {
      this.count++;
      return true;
    }
    const got = await this.take(wait, 'RLock.acquire');
    if (got) this.count = 1;
    return got;
  }

  release(): void {
    if (!this.held || this.owner !== callContext.owner) throw new Error('cannot release un-acquired lock');
    if (--this.count === 0 && this.passOn()) this.count = 1;
  }

  /** Whether the calling process holds it (Python's _is_owned). */
  ownedByCaller(): boolean {
    return this.held && this.owner === callContext.owner;
  }

  /** For Condition.wait: gives the lock up entirely, returning the depth to restore. */
  releaseAll(): number {
    if (!this.held || this.owner !== callContext.owner) throw new Error('cannot wait on un-acquired lock');
    const depth = this.count;
    this.count = this.passOn() ? 1 : 0;
    return depth;
  }

  async reacquire(owner: string, depth: number): Promise<void> {
    await this.take(undefined, 'Condition.wait', owner);
    this.count = depth;
  }
}

/** Python's threading.Semaphore (bounded: BoundedSemaphore) in the manager. */
export class ManagedSemaphore {
  private readonly waiters = new Waiters();

  constructor(
    private value = 1,
    private readonly bound: number | null = null,
  ) {
    if (!Number.isInteger(value) || value < 0) throw new RangeError(`Semaphore value must be a non-negative integer, got ${value}`);
  }

  async acquire(wait?: ManagedWait): Promise<boolean> {
    const limit = managedWait(wait, 'Semaphore.acquire');
    if (this.value > 0) {
      this.value--;
      return true;
    }
    return limit === 0 ? false : this.waiters.wait(limit);
  }

  release(n = 1): void {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`Semaphore.release: n must be a positive integer, got ${n}`);
    for (let i = 0; i < n; i++) {
      if (this.waiters.wakeOne()) continue;
      if (this.bound !== null && this.value >= this.bound) throw new RangeError('Semaphore released too many times');
      this.value++;
    }
  }

  getValue(): number {
    return this.value;
  }
}

export class ManagedEvent {
  private flag = false;
  private readonly waiters = new Waiters();

  isSet(): boolean {
    return this.flag;
  }

  set(): void {
    this.flag = true;
    this.waiters.wakeAll();
  }

  clear(): void {
    this.flag = false;
  }

  async wait(wait?: ManagedWait): Promise<boolean> {
    const limit = managedWait(wait, 'Event.wait');
    if (this.flag) return true;
    await this.waiters.wait(limit);
    return this.flag;
  }
}

/** Python's threading.Condition over its own RLock, in the manager. */
export class ManagedCondition {
  private readonly lock = new ManagedRLock();
  private readonly waiters = new Waiters();

  acquire(wait?: ManagedWait): Promise<boolean> {
    return this.lock.acquire(wait);
  }

  release(): void {
    this.lock.release();
  }

  /** Releases the lock, waits for a notify (or the timeout), takes the lock back; true if notified. */
  async wait(wait?: ManagedWait): Promise<boolean> {
    const limit = managedWait(wait, 'Condition.wait');
    const owner = callContext.owner;
    const depth = this.lock.releaseAll();
    const notified = await this.waiters.wait(limit);
    await this.lock.reacquire(owner, depth);
    return notified;
  }

  notify(n = 1): void {
    if (!this.lock.ownedByCaller()) throw new Error('cannot notify on un-acquired lock');
    for (let i = 0; i < n && this.waiters.wakeOne(); i++);
  }

  notifyAll(): void {
    if (!this.lock.ownedByCaller()) throw new Error('cannot notify on un-acquired lock');
    this.waiters.wakeAll();
  }
}

/** Python's threading.Barrier in the manager. */
export class ManagedBarrier {
  private arrived: { index: number; release(ok: boolean): void }[] = [];
  private broken = false;
  private readonly defaultTimeout: number | null;

  constructor(
    private readonly partyCount: number,
    options: ManagedWaitOptions = {},
  ) {
    if (!Number.isInteger(partyCount) || partyCount < 1) throw new RangeError(`Barrier parties must be a positive integer, got ${partyCount}`);
    this.defaultTimeout = checkTimeoutOption(options.timeout, 'Barrier');
  }

  /** Resolves with this caller's arrival index once all parties arrived; throws BrokenBarrierError. */
  async wait(wait?: ManagedWait): Promise<number> {
    const timeout = managedWait(wait, 'Barrier.wait', this.defaultTimeout);
    if (this.broken) throw new BrokenBarrierError();
    const index = this.arrived.length;
    if (index + 1 === this.partyCount) {
      for (const party of this.arrived.splice(0)) party.release(true);
      return index;
    }
    const deadline = deadlineOf(timeout);
    const passed = await new Promise<boolean>((release) => {
      const timer = deadline === null ? undefined : setTimeout(() => this.abort(), remaining(deadline)!);
      this.arrived.push({ index, release: (ok) => (clearTimeout(timer), release(ok)) });
    });
    if (!passed) throw new BrokenBarrierError();
    return index;
  }

  /** Breaks the barrier: every waiting and later wait() throws BrokenBarrierError until reset(). */
  abort(): void {
    this.broken = true;
    for (const party of this.arrived.splice(0)) party.release(false);
  }

  reset(): void {
    for (const party of this.arrived.splice(0)) party.release(false);
    this.broken = false;
  }

  parties(): number {
    return this.partyCount;
  }

  nWaiting(): number {
    return this.arrived.length;
  }

  isBroken(): boolean {
    return this.broken;
  }
}
