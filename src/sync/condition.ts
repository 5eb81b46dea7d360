/**
 * Condition variable across processes, like multiprocessing.Condition.
 *
 * Waiters take FIFO tickets: [ENTERED] is the next ticket, [NOTIFIED] the
 * first ticket not yet notified (and the futex word waiters sleep on). A
 * waiter returns notified once its ticket is below NOTIFIED, so notify(n)
 * wakes exactly the n oldest waiters, never one that arrived after the
 * notify (anonymous wake tokens would let a newcomer steal them). A waiter
 * that times out marks its ticket cancelled in a ring bitmap, and notify
 * skips cancelled tickets, so a departed waiter never swallows a notify.
 * The ring holds RING tickets: at most that many waiters (live or
 * cancelled-but-not-yet-skipped) per condition. All ticket bookkeeping
 * happens under the condition's lock.
 */
import { Acquirable } from './acquirable.ts';
import { conditionInternals, isLock, lockFromReduced, RLock, type AnyLock, type ConditionLockInternals } from './lock.ts';
import { futexWake } from '../platform/native.ts';
import { allocateBlock, attachBlock, type BlockRef, type SharedBlock } from '../platform/shared-heap.ts';
import { reduceForTransfer, revive, uninitialized, type ReducedShareable, type Shareable } from '../transfer/shareable.ts';
import { Deadline, runAsync, runSync, type WaitPlan } from './wait-plan.ts';
import { checkFunction, describe, parseWait, type Wait } from '../checks.ts';
import { InvalidStateError } from '../errors.ts';

const NOTIFIED = 0;
const ENTERED = 1;
const RING_BASE = 2;
const RING = 1024;
/** Int32 cells a condition occupies (Barrier places its own state after them). */
export const CONDITION_CELLS = RING_BASE + RING / 32;
const BYTES = CONDITION_CELLS * 4;

const before = (a: number, b: number): boolean => ((a - b) | 0) < 0;

function cancelTicket(cells: Int32Array, ticket: number): void {
  const bit = ticket & (RING - 1);
  Atomics.or(cells, RING_BASE + (bit >> 5), 1 << (bit & 31));
}

/** Notifies the n oldest live waiters; the lock must be held. Shared with Barrier. */
export function notifyCells(cells: Int32Array, n: number): void {
  const start = Atomics.load(cells, NOTIFIED);
  const entered = Atomics.load(cells, ENTERED);
  let notified = start;
  let left = n;
  while (left > 0 && before(notified, entered)) {
    const bit = notified & (RING - 1);
    const index = RING_BASE + (bit >> 5);
    const mask = 1 << (bit & 31);
    if (Atomics.load(cells, index) & mask) Atomics.and(cells, index, ~mask);
    else left--;
    notified = (notified + 1) | 0;
  }
  if (notified === start) return;
  Atomics.store(cells, NOTIFIED, notified);
  // Every sleeper checks its own ticket; those not yet notified sleep again.
  futexWake(cells, NOTIFIED, Infinity);
}

/**
 * The wait as a plan, for a caller that holds the lock (checked by the
 * caller). Returns whether it was notified; an abort thrown in at a wait is
 * rethrown once the lock is held again, as wait() must always return holding it.
 */
export function* conditionWaitPlan(cells: Int32Array, lock: ConditionLockInternals, timeoutMs: number): WaitPlan<boolean> {
  const ticket = Atomics.add(cells, ENTERED, 1);
  const saved = lock.releaseAll();
  const deadline = new Deadline(timeoutMs);
  let abort: { reason: unknown } | undefined;
  try {
    for (;;) {
      const notified = Atomics.load(cells, NOTIFIED);
      if (before(ticket, notified)) break;
      const wait = deadline.remaining();
      if (wait <= 0) break;
      yield { i32: cells, index: NOTIFIED, expected: notified, timeoutMs: wait };
    }
  } catch (reason) {
    abort = { reason };
  }
  yield* lock.restorePlan(saved);
  const notified = before(ticket, Atomics.load(cells, NOTIFIED));
  if (!notified) cancelTicket(cells, ticket);
  if (abort !== undefined) {
    if (notified) notifyCells(cells, 1); // hand our notification to the next waiter
    throw abort.reason;
  }
  return notified;
}

/**
 * A condition variable shared by processes. Acquire its lock (acquire/
 * hold/run, delegated to the lock), then wait() for a notify() from any
 * process. The default lock is a new RLock.
 */
export class Condition extends Acquirable implements Shareable {
  private block!: SharedBlock;
  private cells!: Int32Array;
  private lock!: AnyLock;
  private internals!: ConditionLockInternals;

  /** `lock`: the Lock or RLock to use (default: a new RLock). */
  constructor(lock?: AnyLock) {
    super();
    if (lock !== undefined && !isLock(lock)) throw new TypeError(`lock must be a Lock or an RLock of this library, got ${describe(lock)}`);
    this.attach(allocateBlock(BYTES, 8), lock ?? new RLock());
  }

  private attach(block: SharedBlock, lock: AnyLock): this {
    this.block = block;
    this.lock = lock;
    this.cells = new Int32Array(block.buffer, block.offset, BYTES / 4);
    this.internals = lock[conditionInternals]();
    return this;
  }

  /** @internal Rebuilds a condition (and its lock) sent by another process. */
  static [revive](state: BlockRef & { lock: ReducedShareable }): Condition {
    return uninitialized(Condition).attach(attachBlock(state), lockFromReduced(state.lock));
  }

  /** The underlying lock. */
  getLock(): AnyLock {
    return this.lock;
  }

  /** Acquires the underlying lock without blocking the event loop. */
  acquire(wait?: Wait): Promise<boolean> {
    return this.lock.acquire(wait);
  }

  /** Acquires the underlying lock, blocking the calling thread. */
  acquireSync(wait?: Wait): boolean {
    return this.lock.acquireSync(wait);
  }

  /** Releases the underlying lock. */
  release(): void {
    this.lock.release();
  }

  private checkOwned(action: string): void {
    if (!this.internals.isMine()) throw new InvalidStateError(`cannot ${action} on un-acquired lock`);
  }

  /**
   * Releases the lock, waits (without blocking the event loop) for a
   * notify, and reacquires the lock. Resolves false if the timeout passed
   * first. Throws if the calling thread does not hold the lock.
   */
  async wait(wait?: Wait): Promise<boolean> {
    const { timeout, signal } = parseWait(wait, 'Condition.wait');
    this.checkOwned('wait');
    if (signal?.aborted) throw signal.reason;
    return runAsync(conditionWaitPlan(this.cells, this.internals, timeout), signal);
  }

  /** Synchronous wait(), blocking the calling thread. */
  waitSync(wait?: Wait): boolean {
    const { timeout } = parseWait(wait, 'Condition.waitSync');
    this.checkOwned('wait');
    return runSync(conditionWaitPlan(this.cells, this.internals, timeout));
  }

  /** Waits until `predicate()` is truthy (checked under the lock); returns its last result. */
  async waitFor<T>(predicate: () => T, wait?: Wait): Promise<T> {
    checkFunction(predicate, 'Condition.waitFor: predicate');
    const { timeout, signal } = parseWait(wait, 'Condition.waitFor');
    const deadline = new Deadline(timeout);
    let result = predicate();
    while (!result) {
      const remaining = deadline.remaining();
      if (remaining <= 0) break;
      await this.wait({ timeout: remaining, signal });
      result = predicate();
    }
    return result;
  }

  /** Synchronous waitFor(). */
  waitForSync<T>(predicate: () => T, wait?: Wait): T {
    checkFunction(predicate, 'Condition.waitForSync: predicate');
    const { timeout } = parseWait(wait, 'Condition.waitForSync');
    const deadline = new Deadline(timeout);
    let result = predicate();
    while (!result) {
      const remaining = deadline.remaining();
      if (remaining <= 0) break;
      this.waitSync({ timeout: remaining });
      result = predicate();
    }
    return result;
  }

  /** Wakes up to `n` waiters (default 1). The lock must be held. */
  notify(n = 1): void {
    if (typeof n !== 'number' || !(n >= 0)) throw new RangeError(`Condition.notify: n must be a number >= 0 (got ${String(n)})`);
    this.checkOwned('notify');
    notifyCells(this.cells, n);
  }

  /** Wakes every waiter. The lock must be held. */
  notifyAll(): void {
    this.checkOwned('notify');
    notifyCells(this.cells, Infinity);
  }

  /** Describes the condition (and its lock) for another process. */
  [reduceForTransfer](): ReducedShareable {
    return {
      kind: 'multiproc.Condition',
      state: { name: this.block.name, offset: this.block.offset, lock: this.lock[reduceForTransfer]() },
    };
  }
}
