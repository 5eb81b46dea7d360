/**
 * SimpleQueue: Python's reduced queue (put, get, empty, close), unbounded.
 * It shares Queue's ring and guarantees, without the bound and timeouts.
 */
import { Queue } from './queue.ts';
import { reduceForTransfer, revive, uninitialized, type ReducedShareable } from '../transfer/shareable.ts';
import { readiness, type Readiness } from './wait-ready.ts';

const KIND = 'multiproc.SimpleQueue';

/** An unbounded process-shared FIFO with only put, get, empty and close. */
export class SimpleQueue<T = unknown> {
  private queue!: Queue<T>;

  /** Creates an empty queue. */
  constructor() {
    this.queue = new Queue<T>();
  }

  /** @internal Rebuilds a simple queue sent by another process, around the queue its ring names. */
  static [revive](name: string): SimpleQueue {
    const simple = uninitialized(SimpleQueue);
    simple.queue = Queue[revive](name);
    return simple;
  }

  /** Puts `obj` (never waits: the queue is unbounded). Unsendable values throw here, naming the part. */
  put(obj: T): void {
    this.queue.putSync(obj);
  }

  /** Takes the oldest item, waiting for one. */
  get(options: { signal?: AbortSignal } = {}): Promise<T> {
    return this.queue.get(options);
  }

  /** Blocking form of {@link get}. */
  getSync(): T {
    return this.queue.getSync();
  }

  /** Whether no item is waiting. */
  empty(): boolean {
    return this.queue.empty();
  }

  /** Closes this handle; later calls throw and pending gets reject. */
  close(): void {
    this.queue.close();
  }

  /** @internal How wait() watches this queue (as Queue does). */
  [readiness](): Readiness {
    return this.queue[readiness]();
  }

  /** @internal */
  [reduceForTransfer](): ReducedShareable {
    const reduced = (this.queue as unknown as { [reduceForTransfer](): ReducedShareable })[reduceForTransfer]();
    return { kind: KIND, state: reduced.state };
  }
}
