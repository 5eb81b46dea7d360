/**
 * Barrier across processes, like multiprocessing.Barrier (threading.Barrier's
 * algorithm over a shared condition): `parties` waiters meet, then all go.
 */
import { BrokenBarrierError } from '../errors.ts';
import { CONDITION_CELLS, conditionWaitPlan, notifyCells } from './condition.ts';
import { conditionInternals, Lock, lockFromReduced, type ConditionLockInternals } from './lock.ts';
import { allocateBlock, attachBlock, type BlockRef, type SharedBlock } from '../platform/shared-heap.ts';
import { reduceForTransfer, revive, uninitialized, type ReducedShareable, type Shareable } from '../transfer/shareable.ts';
import { referenceFunction, type FunctionReference } from '../transfer/function-reference.ts';
import { importDefiningModule, resolveFunction } from '../transfer/function-resolver.ts';
import { Deadline, runAsync, runSync, type WaitPlan } from './wait-plan.ts';
import { checkOptionalFunction, checkOptions, checkTimeout, parseWait, type ParsedWait, type Wait } from '../checks.ts';

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
  /**
   * Runs in whichever process arrives last, before the others go (as in
   * Python, where it travels with the barrier). It travels by reference,
   * under the same rules as a Process target: a module-level function is
   * found again in the other process, else rebuilt from its source.
   */
  action?: () => void;
  /** Default timeout of wait() in ms. */
  timeout?: number | null;
}

/** State a barrier travels as. */
interface BarrierState extends BlockRef {
  lock: ReducedShareable;
  action: FunctionReference | null;
  timeout: number | null;
}

/** A reusable barrier for a fixed number of parties, shared by processes. */
export class Barrier implements Shareable {
  private block!: SharedBlock;
  private cells!: Int32Array;
  private lock!: Lock;
  private internals!: ConditionLockInternals;
  /** The action as a function, once known in this process. */
  private action!: (() => void) | undefined;
  /** The action as a reference, when it came from another process. */
  private actionReference!: FunctionReference | null;
  private actionModule!: Record<string, unknown> | null;
  private defaultTimeout!: number | null;

  /** `parties`: how many waiters must arrive, an integer >= 1. */
  constructor(parties: number, options: BarrierOptions = {}) {
    if (typeof parties !== 'number' || !Number.isInteger(parties) || parties < 1 || parties > 0x7fffffff) {
      throw new RangeError(`parties must be an integer >= 1 (got ${String(parties)})`);
    }
    checkOptions(options, 'Barrier: options');
    checkOptionalFunction(options.action, 'Barrier: options.action');
    checkTimeout(options.timeout, 'Barrier: options.timeout');
    this.attach(allocateBlock(BYTES, 8), new Lock(), options.timeout ?? null);
    Atomics.store(this.cells, PARTIES, parties);
    this.action = options.action ?? undefined;
  }

  private attach(block: SharedBlock, lock: Lock, timeout: number | null): this {
    this.block = block;
    this.lock = lock;
    this.cells = new Int32Array(block.buffer, block.offset, BYTES / 4);
    this.internals = lock[conditionInternals]();
    this.defaultTimeout = timeout;
    this.action = undefined;
    this.actionReference = null;
    this.actionModule = null;
    return this;
  }

  /** @internal Rebuilds a barrier sent by another process; its action is looked up when it must run here. */
  static [revive](state: BarrierState): Barrier {
    const barrier = uninitialized(Barrier).attach(attachBlock(state), lockFromReduced(state.lock) as Lock, state.timeout);
    barrier.actionReference = state.action;
    // Loaded ahead, so that the action is found among its module's functions when it runs.
    if (state.action) {
      importDefiningModule(state.action).then(
        (namespace) => (barrier.actionModule = namespace),
        () => {}, // resolving at run time reports the failure, breaking the barrier
      );
    }
    return barrier;
  }

  /** The action to run in this process, resolving a reference on first use; throws if it cannot be found. */
  private resolvedAction(): (() => void) | undefined {
    if (this.action === undefined && this.actionReference !== null) {
      this.action = resolveFunction(this.actionReference, this.actionModule ?? {}, 'Barrier action') as () => void;
    }
    return this.action;
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
            this.resolvedAction()?.();
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
    return parseWait(wait, method, this.defaultTimeout);
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

  /** Describes the barrier for another process; its action goes by reference (throws a TypeError naming it if it cannot). */
  [reduceForTransfer](): ReducedShareable {
    const action = this.action ? referenceFunction(this.action, 'Barrier action') : this.actionReference;
    const state: BarrierState = {
      name: this.block.name,
      offset: this.block.offset,
      lock: this.lock[reduceForTransfer](),
      action,
      timeout: this.defaultTimeout,
    };
    return { kind: 'multiproc.Barrier', state };
  }
}
