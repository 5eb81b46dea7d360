/**
 * Barrier across processes, like multiprocessing.Barrier (threading.Barrier's
 * algorithm over a shared condition): `parties` waiters meet, then all go.
 */
import { BrokenBarrierError } from '../errors.ts';
import { CONDITION_CELLS, conditionWaitPlan, notifyCells } from './condition.ts';
import { conditionInternals, Lock, lockFromReduced, type ConditionLockInternals } from './lock.ts';
import { allocateBlock, attachBlock, type BlockRef, type SharedBlock } from '../platform/shared-heap.ts';
import { reduceForTransfer, registerShareable, type ReducedShareable, type Shareable } from '../transfer/shareable.ts';
import { Deadline, runAsync, runSync, type WaitPlan } from './wait-plan.ts';
import { checkTimeout, parseWait, type ParsedWait, type Wait } from '../checks.ts';

// The condition's cells come first (see condition.ts); barrier state follows.
const STATE = CONDITION_CELLS;
const COUNT = CONDITION_CELLS + 1;
const PARTIES = CONDITION_CELLS + 2;
const BYTES = (CONDITION_CELLS + 3) * 4;
const FILLING = 0;
const DRAINING = 1;
const RESETTING = -1;
const BROKEN = -2;

/** Options of Barrier. */
export interface BarrierOptions {
  /** Runs in the process whose arrival releases the barrier, before the others go. Not transferred to other processes. */
  action?: () => void;
  /** Default timeout of wait() in ms. */
  timeout?: number | null;
}

let attaching: { block: SharedBlock; lock: Lock } | undefined;

/** A reusable barrier for a fixed number of parties, shared by processes. */
export class Barrier implements Shareable {
  private readonly block: SharedBlock;
  private readonly cells: Int32Array;
  private readonly lock: Lock;
  private readonly internals: ConditionLockInternals;
  private readonly action: (() => void) | undefined;
  private readonly defaultTimeout: number | null | undefined;

  /** `parties`: how many waiters must arrive, an integer >= 1. */
  constructor(parties: number, options: BarrierOptions = {}) {
    if (attaching !== undefined) {
      this.block = attaching.block;
      this.lock = attaching.lock;
    } else {
      if (typeof parties !== 'number' || !Number.isInteger(parties) || parties < 1 || parties > 0x7fffffff) {
        throw new RangeError(`parties must be an integer >= 1 (got ${String(parties)})`);
      }
      if (options.action !== undefined && typeof options.action !== 'function') {
        throw new TypeError('options.action must be a function');
      }
      checkTimeout(options.timeout, 'Barrier: options.timeout');
      this.lock = new Lock();
      this.block = allocateBlock(BYTES, 8);
    }
    this.cells = new Int32Array(this.block.buffer, this.block.offset, BYTES / 4);
    if (attaching === undefined) Atomics.store(this.cells, PARTIES, parties);
    this.action = options.action;
    this.defaultTimeout = options.timeout;
    this.internals = this.lock[conditionInternals]();
  }

  /** How many parties must arrive. */
  get parties(): number {
    return Atomics.load(this.cells, PARTIES);
  }

  /** How many parties are waiting now. */
  get nWaiting(): number {
    return Atomics.load(this.cells, STATE) === FILLING ? Atomics.load(this.cells, COUNT) : 0;
  }

  /** Whether the barrier is broken. */
  get broken(): boolean {
    return Atomics.load(this.cells, STATE) === BROKEN;
  }

  private notifyAll(): void {
    notifyCells(this.cells, Infinity);
  }

  private breakLocked(): void {
    Atomics.store(this.cells, STATE, BROKEN);
    this.notifyAll();
  }

  private *waitPlan(timeoutMs: number): WaitPlan<number> {
    const cells = this.cells;
    yield* this.internals.restorePlan(1);
    try {
      while (Atomics.load(cells, STATE) === DRAINING || Atomics.load(cells, STATE) === RESETTING) {
        yield* conditionWaitPlan(cells, this.internals, Infinity);
      }
      if (Atomics.load(cells, STATE) < 0) throw new BrokenBarrierError();
      const index = Atomics.add(cells, COUNT, 1);
      try {
        if (index + 1 === Atomics.load(cells, PARTIES)) {
          try {
            this.action?.();
          } catch (error) {
            this.breakLocked();
            throw error;
          }
          Atomics.store(cells, STATE, DRAINING);
          this.notifyAll();
        } else {
          const deadline = new Deadline(timeoutMs);
          try {
            while (Atomics.load(cells, STATE) === FILLING) {
              const remaining = deadline.remaining();
              if (remaining <= 0) throw new BrokenBarrierError();
              yield* conditionWaitPlan(cells, this.internals, remaining);
            }
          } catch (error) {
            this.breakLocked();
            throw error;
          }
          if (Atomics.load(cells, STATE) < 0) throw new BrokenBarrierError();
        }
        return index;
      } finally {
        if (Atomics.sub(cells, COUNT, 1) === 1) {
          const state = Atomics.load(cells, STATE);
          if (state === RESETTING || state === DRAINING) {
            Atomics.store(cells, STATE, FILLING);
            this.notifyAll();
          }
        }
      }
    } finally {
      this.internals.releaseAll();
    }
  }

  private timeoutOf(wait: Wait | undefined, method: string): ParsedWait {
    return parseWait(wait, method, this.defaultTimeout ?? null);
  }

  /**
   * Waits (without blocking the event loop) until all parties have called
   * wait(); resolves this party's arrival index, 0..parties-1. Rejects with
   * BrokenBarrierError if the barrier breaks or the timeout passes (which
   * breaks it for everyone); an abort also breaks it.
   */
  async wait(wait?: Wait): Promise<number> {
    const { timeout, signal } = this.timeoutOf(wait, 'Barrier.wait');
    if (signal?.aborted) throw signal.reason;
    return runAsync(this.waitPlan(timeout), signal);
  }

  /** Synchronous wait(), blocking the calling thread. */
  waitSync(wait?: Wait): number {
    const { timeout } = this.timeoutOf(wait, 'Barrier.waitSync');
    return runSync(this.waitPlan(timeout));
  }

  /** Puts the barrier into the broken state: current and future waiters get BrokenBarrierError. */
  abort(): void {
    this.lock.runSync(() => this.breakLocked());
  }

  /** Returns the barrier to its initial state; current waiters get BrokenBarrierError. */
  reset(): void {
    this.lock.runSync(() => {
      const cells = this.cells;
      if (Atomics.load(cells, COUNT) > 0) {
        const state = Atomics.load(cells, STATE);
        if (state === FILLING || state === BROKEN) Atomics.store(cells, STATE, RESETTING);
      } else {
        Atomics.store(cells, STATE, FILLING);
      }
      this.notifyAll();
    });
  }

  /** Describes the barrier for another process (its action stays behind). */
  [reduceForTransfer](): ReducedShareable {
    return {
      kind: 'multiproc.Barrier',
      state: { name: this.block.name, offset: this.block.offset, lock: this.lock[reduceForTransfer]() },
    };
  }
}

registerShareable('multiproc.Barrier', (state: BlockRef & { lock: ReducedShareable }) => {
  attaching = { block: attachBlock(state), lock: lockFromReduced(state.lock) as Lock };
  try {
    return new Barrier(1);
  } finally {
    attaching = undefined;
  }
});
