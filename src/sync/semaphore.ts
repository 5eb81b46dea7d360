/**
 * Semaphore and BoundedSemaphore across processes, on a futex counter.
 *
 * Dead holders: next to the counter sits a table of holders (tid, start
 * time, slots held). An acquire records a slot against its thread; a
 * release removes one from its own entry, or else from any entry (a
 * semaphore used as a signal is released by others than its acquirers, and
 * the table must then track "acquired and not yet released", not who
 * released). Waiters sleep in slices and, between slices, return the slots
 * of holders that died to the counter (see owner-liveness.ts for how death
 * is judged). Threads beyond the table's HOLDER_SLOTS entries still work but
 * their slots cannot be recovered.
 */
import { Acquirable } from './acquirable.ts';
import { futexWake } from '../platform/native.ts';
import { currentOwner, ownerState } from '../platform/owner-liveness.ts';
import { allocateBlock, attachBlock, type BlockRef, type SharedBlock } from '../platform/shared-heap.ts';
import { reduceForTransfer, revive, uninitialized, type ReducedShareable, type Shareable } from '../transfer/shareable.ts';
import { Deadline, OWNER_CHECK_SLICE_MS, runAsync, runSync, type WaitPlan } from './wait-plan.ts';
import { parseWait, type Wait } from '../checks.ts';
import { countedWait, wakeCounted } from './counted-wait.ts';
import { InvalidStateError } from '../errors.ts';

const VALUE = 0;
const SLEEPERS = 1;
const BOUND = 2;
const TABLE = 4;
const HOLDER_SLOTS = 32;
const ENTRY = 4; // tid, start, count, unused
const RECLAIMING = -1;
const BYTES = (TABLE + HOLDER_SLOTS * ENTRY) * 4;
const MAX_VALUE = 0x7fffffff;

type Outcome = 'acquired' | 'recovered' | 'timed-out';

function decrementIfPositive(cells: Int32Array, index: number): boolean {
  let count = Atomics.load(cells, index);
  while (count > 0) {
    const seen = Atomics.compareExchange(cells, index, count, count - 1);
    if (seen === count) return true;
    count = seen;
  }
  return false;
}

/** Returns the slots of dead holders to the counter; true if any were returned. */
function reclaimDead(cells: Int32Array, suspects: Map<number, number>): boolean {
  let returned = 0;
  for (let slot = 0; slot < HOLDER_SLOTS; slot++) {
    const base = TABLE + slot * ENTRY;
    const tid = Atomics.load(cells, base);
    if (tid <= 0) continue;
    const state = ownerState(tid, Atomics.load(cells, base + 1));
    if (state === 'dead' || (state === 'mismatch' && suspects.get(slot) === tid)) {
      if (Atomics.compareExchange(cells, base, tid, RECLAIMING) !== tid) continue;
      returned += Atomics.exchange(cells, base + 2, 0);
      Atomics.store(cells, base, 0);
      suspects.delete(slot);
    } else if (state === 'mismatch') {
      suspects.set(slot, tid);
    } else {
      suspects.delete(slot);
    }
  }
  if (returned === 0) return false;
  Atomics.add(cells, VALUE, returned);
  futexWake(cells, VALUE, returned);
  return true;
}

function* acquirePlan(cells: Int32Array, timeoutMs: number): WaitPlan<Outcome> {
  const deadline = new Deadline(timeoutMs);
  const suspects = new Map<number, number>();
  let recovered = false;
  for (;;) {
    if (decrementIfPositive(cells, VALUE)) return recovered ? 'recovered' : 'acquired';
    const wait = deadline.slice(OWNER_CHECK_SLICE_MS);
    if (wait <= 0) return 'timed-out';
    const result = yield* countedWait(cells, VALUE, SLEEPERS, 0, wait);
    if (result === 'timed-out' && reclaimDead(cells, suspects)) recovered = true;
  }
}

/**
 * A counting semaphore shared by processes, like multiprocessing.Semaphore.
 * acquire() takes a slot (waiting while none is free), release() returns
 * one. Slots held by a process that dies are returned to the others.
 * Helpers hold/holdSync/run/runSync come from Acquirable.
 */
export class Semaphore extends Acquirable implements Shareable {
  protected block!: SharedBlock;
  protected cells!: Int32Array;
  private slot!: number;
  private recovered!: boolean;

  /** `value`: the initial number of free slots, an integer >= 0 (default 1). */
  constructor(value = 1) {
    super();
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_VALUE) {
      throw new RangeError(`value must be an integer in [0, ${MAX_VALUE}] (got ${String(value)})`);
    }
    this.attach(allocateBlock(BYTES, 8));
    Atomics.store(this.cells, VALUE, value);
    Atomics.store(this.cells, BOUND, this.boundFor(value));
  }

  private attach(block: SharedBlock): this {
    this.block = block;
    this.cells = new Int32Array(block.buffer, block.offset, BYTES / 4);
    this.slot = -1;
    this.recovered = false;
    return this;
  }

  /** @internal Rebuilds a semaphore of this class sent by another process. */
  static [revive]<T extends Semaphore>(this: abstract new () => T, state: BlockRef): T {
    return uninitialized(this).attach(attachBlock(state));
  }

  protected boundFor(_value: number): number {
    return MAX_VALUE;
  }

  /** The number of free slots right now (Python's get_value()). */
  get value(): number {
    return Atomics.load(this.cells, VALUE);
  }

  /** True when the most recent acquire through this object returned slots of holders that had died. */
  get ownerDied(): boolean {
    return this.recovered;
  }

  private settle(outcome: Outcome): boolean {
    if (outcome === 'timed-out') return false;
    this.recovered = outcome === 'recovered';
    this.recordHold();
    return true;
  }

  /** This thread's holder entry (cached), or -1. */
  private ownSlot(tid: number): number {
    if (this.slot >= 0 && Atomics.load(this.cells, TABLE + this.slot * ENTRY) === tid) return this.slot;
    for (let slot = 0; slot < HOLDER_SLOTS; slot++) {
      if (Atomics.load(this.cells, TABLE + slot * ENTRY) === tid) return (this.slot = slot);
    }
    return -1;
  }

  private recordHold(): void {
    const me = currentOwner();
    let slot = this.ownSlot(me.tid);
    for (let candidate = 0; slot < 0 && candidate < HOLDER_SLOTS; candidate++) {
      const base = TABLE + candidate * ENTRY;
      if (Atomics.compareExchange(this.cells, base, 0, me.tid) === 0) {
        Atomics.store(this.cells, base + 1, me.start);
        slot = this.slot = candidate;
      }
    }
    if (slot >= 0) Atomics.add(this.cells, TABLE + slot * ENTRY + 2, 1);
  }

  /** Takes a slot without blocking the event loop; false on timeout (or none free with block: false). */
  async acquire(wait?: Wait): Promise<boolean> {
    const { timeout, signal } = parseWait(wait, `${this.constructor.name}.acquire`);
    if (signal?.aborted) throw signal.reason;
    if (decrementIfPositive(this.cells, VALUE)) return this.settle('acquired');
    if (timeout === 0) return false;
    return this.settle(await runAsync(acquirePlan(this.cells, timeout), signal));
  }

  /** Takes a slot, blocking the calling thread; false on timeout (or none free with block: false). */
  acquireSync(wait?: Wait): boolean {
    const { timeout } = parseWait(wait, `${this.constructor.name}.acquireSync`);
    if (decrementIfPositive(this.cells, VALUE)) return this.settle('acquired');
    if (timeout === 0) return false;
    return this.settle(runSync(acquirePlan(this.cells, timeout)));
  }

  /** Returns a slot and wakes one waiter. BoundedSemaphore throws if that exceeds its initial value. */
  release(): void {
    const bound = Atomics.load(this.cells, BOUND);
    let value = Atomics.load(this.cells, VALUE);
    for (;;) {
      if (value >= bound) throw new InvalidStateError(`${this.constructor.name} released too many times`);
      const seen = Atomics.compareExchange(this.cells, VALUE, value, value + 1);
      if (seen === value) break;
      value = seen;
    }
    const own = this.ownSlot(currentOwner().tid);
    if (own < 0 || !decrementIfPositive(this.cells, TABLE + own * ENTRY + 2)) {
      for (let slot = 0; slot < HOLDER_SLOTS; slot++) {
        if (Atomics.load(this.cells, TABLE + slot * ENTRY) > 0 && decrementIfPositive(this.cells, TABLE + slot * ENTRY + 2)) break;
      }
    }
    wakeCounted(this.cells, VALUE, SLEEPERS, 1);
  }

  protected get kind(): string {
    return 'multiproc.Semaphore';
  }

  /** Describes the semaphore for another process (see shareable.ts). */
  [reduceForTransfer](): ReducedShareable {
    return { kind: this.kind, state: { name: this.block.name, offset: this.block.offset } satisfies BlockRef };
  }
}

/**
 * A Semaphore that refuses to go above its initial value: releasing more
 * often than acquiring throws, as in Python.
 */
export class BoundedSemaphore extends Semaphore {
  protected override boundFor(value: number): number {
    return value;
  }

  protected override get kind(): string {
    return 'multiproc.BoundedSemaphore';
  }
}

