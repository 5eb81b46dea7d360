/**
 * Lock and RLock across processes (and worker threads), on a futex word in
 * shared memory; see mutex.ts for the protocol and dead-owner recovery.
 */
import { Acquirable } from './acquirable.ts';
import { allocateBlock, attachBlock, type BlockRef, type SharedBlock } from '../platform/shared-heap.ts';
import { COUNT, MUTEX_BYTES, WORD, lockPlan, ownerTid, tryLock, unlock, type LockOutcome } from './mutex.ts';
import { currentOwner } from '../platform/owner-liveness.ts';
import { reduceForTransfer, revive, uninitialized, type ReducedShareable, type Shareable } from '../transfer/shareable.ts';
import { runAsync, runSync, type WaitPlan } from './wait-plan.ts';
import { parseWait, type Wait } from '../checks.ts';
import { InvalidStateError } from '../errors.ts';

/** What Condition needs from the lock it wraps (not public API). */
export interface ConditionLockInternals {
  /** Whether the calling thread holds the lock. */
  isMine(): boolean;
  /** Releases the lock completely; returns what restore() needs. */
  releaseAll(): number;
  /** Plan that reacquires the lock and restores the saved state. */
  restorePlan(saved: number): WaitPlan<void>;
}

/** Key under which Lock and RLock expose their ConditionLockInternals. */
export const conditionInternals: unique symbol = Symbol('multiproc.conditionInternals') as never;

abstract class MutexBase extends Acquirable implements Shareable {
  protected block!: SharedBlock;
  protected cells!: Int32Array;
  protected recovered!: boolean;

  constructor() {
    super();
    this.attach(allocateBlock(MUTEX_BYTES, 8));
  }

  protected attach(block: SharedBlock): this {
    this.block = block;
    this.cells = new Int32Array(block.buffer, block.offset, MUTEX_BYTES / 4);
    this.recovered = false;
    return this;
  }

  /** @internal Rebuilds a lock of this class sent by another process. */
  static [revive]<T extends MutexBase>(this: abstract new () => T, state: BlockRef): T {
    return uninitialized(this).attach(attachBlock(state));
  }

  /**
   * True when the most recent acquisition through this object took the lock
   * over from an owner that died holding it (a process killed, a worker
   * terminated). Data the lock guards may then be half-updated.
   */
  get ownerDied(): boolean {
    return this.recovered;
  }

  /** Whether any thread of any process holds the lock right now. */
  get locked(): boolean {
    return Atomics.load(this.cells, WORD) !== 0;
  }

  /** Whether the calling JS thread holds the lock (Python's `_is_mine`). */
  get heldByCurrentThread(): boolean {
    return ownerTid(this.cells) === currentOwner().tid;
  }

  protected abstract get kind(): string;

  /** Describes the lock for another process (see shareable.ts). */
  [reduceForTransfer](): ReducedShareable {
    return { kind: this.kind, state: { name: this.block.name, offset: this.block.offset } satisfies BlockRef };
  }

  protected settle(outcome: LockOutcome): boolean {
    if (outcome === 'timed-out') return false;
    this.recovered = outcome === 'recovered';
    this.onAcquired();
    return true;
  }

  protected onAcquired(): void {}

  protected acquireSyncWith(method: string, wait: Wait | undefined): boolean {
    const { timeout } = parseWait(wait, method);
    if (tryLock(this.cells, currentOwner())) return this.settle('acquired');
    return this.settle(runSync(lockPlan(this.cells, timeout)));
  }

  protected async acquireWith(method: string, wait: Wait | undefined): Promise<boolean> {
    const { timeout, signal } = parseWait(wait, method);
    if (signal?.aborted) throw signal.reason;
    if (tryLock(this.cells, currentOwner())) return this.settle('acquired');
    if (timeout === 0) return this.settle(runSync(lockPlan(this.cells, 0)));
    return this.settle(await runAsync(lockPlan(this.cells, timeout), signal));
  }
}

/**
 * A non-recursive lock shared by processes, like multiprocessing.Lock. Any
 * thread or process may release it; releasing it while unlocked throws.
 *
 * Besides acquire/acquireSync/release it offers (from Acquirable)
 * `await using held = await lock.hold()`, `using held = lock.holdSync()`,
 * `await lock.run(fn)` and `lock.runSync(fn)`.
 */
export class Lock extends MutexBase {
  protected get kind(): string {
    return 'multiproc.Lock';
  }

  /** Acquires without blocking the event loop; false on timeout (or busy with block: false). */
  acquire(wait?: Wait): Promise<boolean> {
    return this.acquireWith('Lock.acquire', wait);
  }

  /** Acquires, blocking the calling thread; false on timeout (or busy with block: false). */
  acquireSync(wait?: Wait): boolean {
    return this.acquireSyncWith('Lock.acquireSync', wait);
  }

  /** Releases the lock; throws if it is not locked. */
  release(): void {
    if (Atomics.load(this.cells, WORD) === 0) throw new InvalidStateError('cannot release un-acquired lock');
    unlock(this.cells);
  }

  /** @internal */
  [conditionInternals](): ConditionLockInternals {
    const cells = this.cells;
    return {
      isMine: () => ownerTid(cells) === currentOwner().tid,
      releaseAll: () => {
        unlock(cells);
        return 1;
      },
      restorePlan: function* (this: void) {
        yield* lockPlan(cells, Infinity);
      },
    };
  }
}

/**
 * A recursive lock, like multiprocessing.RLock: the owning thread may
 * acquire it again, and must release it as many times. The owner is the JS
 * thread (process main thread or worker), not an async task.
 */
export class RLock extends MutexBase {
  protected get kind(): string {
    return 'multiproc.RLock';
  }

  protected override onAcquired(): void {
    Atomics.store(this.cells, COUNT, 1);
  }

  /** Acquires (or re-enters) without blocking the event loop; false on timeout. */
  async acquire(wait?: Wait): Promise<boolean> {
    if (ownerTid(this.cells) === currentOwner().tid) {
      parseWait(wait, 'RLock.acquire');
      Atomics.add(this.cells, COUNT, 1);
      return true;
    }
    return this.acquireWith('RLock.acquire', wait);
  }

  /** Acquires (or re-enters), blocking the calling thread; false on timeout. */
  acquireSync(wait?: Wait): boolean {
    if (ownerTid(this.cells) === currentOwner().tid) {
      parseWait(wait, 'RLock.acquireSync');
      Atomics.add(this.cells, COUNT, 1);
      return true;
    }
    return this.acquireSyncWith('RLock.acquireSync', wait);
  }

  /** Releases one level; throws unless the calling thread owns the lock. */
  release(): void {
    if (ownerTid(this.cells) !== currentOwner().tid || Atomics.load(this.cells, COUNT) <= 0) {
      throw new InvalidStateError('cannot release un-acquired lock');
    }
    if (Atomics.sub(this.cells, COUNT, 1) === 1) unlock(this.cells);
  }

  /** How many times the owning thread holds the lock (0 when free). */
  get depth(): number {
    return this.locked ? Atomics.load(this.cells, COUNT) : 0;
  }

  /** @internal */
  [conditionInternals](): ConditionLockInternals {
    const cells = this.cells;
    return {
      isMine: () => ownerTid(cells) === currentOwner().tid && Atomics.load(cells, COUNT) > 0,
      releaseAll: () => {
        const depth = Atomics.exchange(cells, COUNT, 0);
        unlock(cells);
        return depth;
      },
      restorePlan: function* (this: void, saved: number) {
        yield* lockPlan(cells, Infinity);
        Atomics.store(cells, COUNT, saved);
      },
    };
  }
}

/** A Lock or an RLock: what Condition, Value and SharedArray accept as their lock. */
export type AnyLock = Lock | RLock;


/** Rebuilds a Lock or RLock from its reduced form (for objects that embed a lock in their own state). */
export function lockFromReduced(reduced: ReducedShareable): AnyLock {
  const state = reduced.state as BlockRef;
  if (reduced.kind === 'multiproc.Lock') return Lock[revive](state);
  if (reduced.kind === 'multiproc.RLock') return RLock[revive](state);
  throw new TypeError(`expected a reduced Lock or RLock, got kind '${reduced.kind}'`);
}

/** Whether `value` is a Lock or an RLock of this library. */
export function isLock(value: unknown): value is AnyLock {
  return value instanceof Lock || value instanceof RLock;
}
