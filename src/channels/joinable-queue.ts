/**
 * JoinableQueue: a Queue that counts unfinished tasks across processes, as in
 * Python. The count lives in the ring's shared header, so put() in one
 * process and taskDone() in another balance out.
 */
import { futexWake } from '../platform/native.ts';
import { ATTACH, Queue, type QueueOptions } from './queue.ts';
import { registerShareable } from '../transfer/shareable.ts';
import { NOTHING, ShmRing, USER } from './shm-ring.ts';
import { waitAsync, waitSync } from './shm-ring-wait.ts';
import { parseWait, type Wait } from '../checks.ts';

const UNFINISHED = USER;
/** Bumped when UNFINISHED reaches 0; JOIN_SEQ + 1 counts waiters. */
const JOIN_SEQ = USER + 1;

/** A Queue whose consumers report each item done, so that producers can join() until all are. */
export class JoinableQueue<T = unknown> extends Queue<T> {
  constructor(options: QueueOptions = {}) {
    super(options);
  }

  protected static override readonly kind: string = 'multiproc.JoinableQueue';

  // Counted before the item is published, so a consumer's taskDone() can never run before the matching put.
  protected override beforePublish(): void {
    Atomics.add(this.ring.i32, UNFINISHED, 1);
  }

  protected override afterAbandon(): void {
    this.#finish();
  }

  #finish(): void {
    const i32 = this.ring.i32;
    if (Atomics.sub(i32, UNFINISHED, 1) === 1) {
      Atomics.add(i32, JOIN_SEQ, 1);
      if (Atomics.load(i32, JOIN_SEQ + 1) > 0) futexWake(i32, JOIN_SEQ, Infinity);
    }
  }

  /** Marks one item taken with get() as processed. Throws if called more times than items were put. */
  taskDone(): void {
    this.checkOpen();
    const i32 = this.ring.i32;
    for (;;) {
      const count = Atomics.load(i32, UNFINISHED);
      if (count <= 0) throw new Error('task_done() called too many times');
      if (Atomics.compareExchange(i32, UNFINISHED, count, count - 1) !== count) continue;
      if (count === 1) {
        Atomics.add(i32, JOIN_SEQ, 1);
        if (Atomics.load(i32, JOIN_SEQ + 1) > 0) futexWake(i32, JOIN_SEQ, Infinity);
      }
      return;
    }
  }

  #allDone(): () => true | typeof NOTHING {
    const i32 = this.ring.i32;
    return () => (Atomics.load(i32, UNFINISHED) <= 0 ? true : NOTHING);
  }

  /** Resolves once every item put so far has been marked done; false if the timeout passed first. */
  async join(wait?: Wait): Promise<boolean> {
    const { timeout, signal } = parseWait(wait, 'JoinableQueue.join');
    this.checkOpen();
    return (await waitAsync(this.#allDone(), { i32: this.ring.i32, word: JOIN_SEQ }, timeout, signal)) === true;
  }

  /** Blocking form of {@link join}. */
  joinSync(wait?: Wait): boolean {
    const { timeout } = parseWait(wait, 'JoinableQueue.joinSync');
    this.checkOpen();
    return waitSync(this.#allDone(), { i32: this.ring.i32, word: JOIN_SEQ }, timeout) === true;
  }
}

registerShareable('multiproc.JoinableQueue', (name: string) => new JoinableQueue({ [ATTACH]: ShmRing.open(name) }));
