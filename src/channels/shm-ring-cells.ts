/**
 * The client cells of a ring's header (from CLIENT_CELLS on), reserved here
 * per client so that no two uses can overlap by accident, and changed only
 * through the methods below (queue.ts and joinable-queue.ts make no raw
 * Atomics calls on a ring). A ring has one client kind: a queue, or one
 * direction of a pipe (see pipe-holders.ts for the pipe's cells).
 */
import { CLIENT_CELLS, PUTS, TAKES } from './shm-ring-layout.ts';
import { wakeCounted } from '../sync/counted-wait.ts';
import type { ShmRing } from './shm-ring.ts';
import type { WaitTarget } from './shm-ring-wait.ts';
import { END_CELLS, EndHolders } from './pipe-holders.ts';

/** Queue: the bound, so every process enforces the same one. */
const MAXSIZE = CLIENT_CELLS;
/** JoinableQueue: tasks put and not yet done, on a cache line of their own. */
const UNFINISHED = CLIENT_CELLS + 16;
/** JoinableQueue: bumped when UNFINISHED reaches 0 (join's futex word); the next cell counts its sleepers. */
const JOIN_SEQ = CLIENT_CELLS + 32;
/** Pipe: the holder tables of a direction's two ends (see pipe-holders.ts), 2 × END_CELLS cells. */
const PIPE_HOLDER_CELLS = CLIENT_CELLS;

/** A Queue's item count and bound, over the ring's PUTS/TAKES counters. */
export class QueueCells {
  private readonly i32: Int32Array;

  constructor(ring: ShmRing) {
    this.i32 = ring.i32;
  }

  /** Records the bound of a new queue (0: unbounded). */
  initMaxsize(maxsize: number): void {
    Atomics.store(this.i32, MAXSIZE, maxsize);
  }

  /** The bound (0: unbounded). */
  get maxsize(): number {
    return Atomics.load(this.i32, MAXSIZE);
  }

  /** Counts one more item if the bound allows; false if the queue is full. */
  tryCountPut(): boolean {
    const i32 = this.i32;
    const max = Atomics.load(i32, MAXSIZE);
    if (max === 0) {
      Atomics.add(i32, PUTS, 1);
      return true;
    }
    for (;;) {
      // TAKES first: it only grows, so the difference can only overstate the items.
      const takes = Atomics.load(i32, TAKES);
      const puts = Atomics.load(i32, PUTS);
      if (((puts - takes) | 0) >= max) return false;
      if (Atomics.compareExchange(i32, PUTS, puts, (puts + 1) | 0) === puts) return true;
    }
  }

  /** Undoes tryCountPut for a put that gave up. */
  uncountPut(): void {
    Atomics.sub(this.i32, PUTS, 1);
  }

  /** Items put and not yet taken (approximate while others act). */
  size(): number {
    const takes = Atomics.load(this.i32, TAKES);
    return Math.max(0, (Atomics.load(this.i32, PUTS) - takes) | 0);
  }
}

/** A JoinableQueue's count of unfinished tasks, shared by every process, and the word join() sleeps on. */
export class TaskCells {
  private readonly i32: Int32Array;
  /** What join() waits on. */
  readonly joinTarget: WaitTarget;

  constructor(ring: ShmRing) {
    this.i32 = ring.i32;
    this.joinTarget = { i32: ring.i32, word: JOIN_SEQ };
  }

  /** Counts a task (before its item is published, so its taskDone can never come first). */
  add(): void {
    Atomics.add(this.i32, UNFINISHED, 1);
  }

  /** Uncounts a task that was never published. */
  abandon(): void {
    if (Atomics.sub(this.i32, UNFINISHED, 1) === 1) this.#wakeJoiners();
  }

  /** Marks one task done; false (and no change) if none is unfinished. */
  tryFinish(): boolean {
    const i32 = this.i32;
    for (;;) {
      const count = Atomics.load(i32, UNFINISHED);
      if (count <= 0) return false;
      if (Atomics.compareExchange(i32, UNFINISHED, count, count - 1) !== count) continue;
      if (count === 1) this.#wakeJoiners();
      return true;
    }
  }

  /** Whether every task is done. */
  allDone(): boolean {
    return Atomics.load(this.i32, UNFINISHED) <= 0;
  }

  #wakeJoiners(): void {
    Atomics.add(this.i32, JOIN_SEQ, 1);
    wakeCounted(this.i32, JOIN_SEQ, JOIN_SEQ + 1, Infinity);
  }
}

/** A pipe direction's writer-end and reader-end holder tables. */
export function pipeEnds(ring: ShmRing): { writers: EndHolders; readers: EndHolders } {
  return {
    writers: new EndHolders(ring.i32, PIPE_HOLDER_CELLS),
    readers: new EndHolders(ring.i32, PIPE_HOLDER_CELLS + END_CELLS),
  };
}
