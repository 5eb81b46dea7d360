/**
 * SimpleQueue: Python's reduced queue (put, get, empty, close), unbounded.
 * It shares Queue's ring and guarantees, without the bound and timeouts.
 */
import { ATTACH, Queue } from './queue.ts';
import { reduceForTransfer, type ReducedShareable } from '../transfer/shareable.ts';
import { ShmRing } from './shm-ring.ts';

const KIND = 'multiproc.SimpleQueue';

/** An unbounded process-shared FIFO with only put, get, empty and close. */
export class SimpleQueue<T = unknown> {
  readonly #queue: Queue<T>;

  constructor(attach?: { [ATTACH]: ShmRing }) {
    this.#queue = new Queue<T>(attach ? { [ATTACH]: attach[ATTACH] } : {});
  }

  /** Puts `obj` (never waits: the queue is unbounded). Unsendable values throw here, naming the part. */
  put(obj: T): void {
    this.#queue.putSync(obj);
  }

  /** Takes the oldest item, waiting for one. */
  get(options: { signal?: AbortSignal } = {}): Promise<T> {
    return this.#queue.get(options);
  }

  /** Blocking form of {@link get}. */
  getSync(): T {
    return this.#queue.getSync();
  }

  /** Whether no item is waiting. */
  empty(): boolean {
    return this.#queue.empty();
  }

  /** Closes this handle; later calls throw and pending gets reject. */
  close(): void {
    this.#queue.close();
  }

  /** @internal */
  [reduceForTransfer](): ReducedShareable {
    const reduced = (this.#queue as unknown as { [reduceForTransfer](): ReducedShareable })[reduceForTransfer]();
    return { kind: KIND, state: reduced.state };
  }
}
