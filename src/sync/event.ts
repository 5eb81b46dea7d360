/**
 * Event across processes, like multiprocessing.Event: a flag in shared
 * memory; waiters sleep on it with a futex until it is set.
 */
import { allocateBlock, attachBlock, type BlockRef, type SharedBlock } from '../platform/shared-heap.ts';
import { reduceForTransfer, revive, uninitialized, type ReducedShareable, type Shareable } from '../transfer/shareable.ts';
import { Deadline, runAsync, runSync, type WaitPlan } from './wait-plan.ts';
import { countedWait, wakeCounted } from './counted-wait.ts';
import { parseWait, type Wait } from '../checks.ts';

const FLAG = 0;
const SLEEPERS = 1;
const BYTES = 8;

function* waitPlan(cells: Int32Array, timeoutMs: number): WaitPlan<boolean> {
  const deadline = new Deadline(timeoutMs);
  for (;;) {
    if (Atomics.load(cells, FLAG) !== 0) return true;
    const wait = deadline.remaining();
    if (wait <= 0) return false;
    yield* countedWait(cells, FLAG, SLEEPERS, 0, wait);
  }
}

/** A flag that processes can set, clear and wait for. */
export class Event implements Shareable {
  private block!: SharedBlock;
  private cells!: Int32Array;

  /** Creates a cleared event. */
  constructor() {
    this.attach(allocateBlock(BYTES, 8));
  }

  private attach(block: SharedBlock): this {
    this.block = block;
    this.cells = new Int32Array(block.buffer, block.offset, BYTES / 4);
    return this;
  }

  /** @internal Rebuilds an event sent by another process. */
  static [revive](state: BlockRef): Event {
    return uninitialized(Event).attach(attachBlock(state));
  }

  /** Whether the flag is set. */
  isSet(): boolean {
    return Atomics.load(this.cells, FLAG) !== 0;
  }

  /** Sets the flag and wakes every waiter, in every process. */
  set(): void {
    Atomics.store(this.cells, FLAG, 1);
    wakeCounted(this.cells, FLAG, SLEEPERS, Infinity);
  }

  /** Clears the flag. */
  clear(): void {
    Atomics.store(this.cells, FLAG, 0);
  }

  /** Waits (without blocking the event loop) until set; resolves the flag: false means the timeout passed. `wait(50)` waits 50 ms. */
  async wait(wait?: Wait): Promise<boolean> {
    const { timeout, signal } = parseWait(wait, 'Event.wait');
    if (signal?.aborted) throw signal.reason;
    if (this.isSet()) return true;
    return runAsync(waitPlan(this.cells, timeout), signal);
  }

  /** Blocks the calling thread until set; returns the flag (false: the timeout passed). */
  waitSync(wait?: Wait): boolean {
    const { timeout } = parseWait(wait, 'Event.waitSync');
    return runSync(waitPlan(this.cells, timeout));
  }

  /** Describes the event for another process (see shareable.ts). */
  [reduceForTransfer](): ReducedShareable {
    return { kind: 'multiproc.Event', state: { name: this.block.name, offset: this.block.offset } satisfies BlockRef };
  }
}
