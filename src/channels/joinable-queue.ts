/**
 * JoinableQueue: a Queue that counts unfinished tasks across processes, as in
 * Python. The count lives in the ring's shared header, so put() in one
 * process and taskDone() in another balance out.
 */
import { Queue, type QueueOptions } from './queue.ts';
import { NOTHING } from './shm-ring.ts';
import { TaskCells } from './shm-ring-cells.ts';
import { waitAsync, waitSync } from './shm-ring-wait.ts';
import { parseWait, type Wait } from '../checks.ts';
import { InvalidStateError } from '../errors.ts';

/** A Queue whose consumers report each item done, so that producers can join() until all are. */
export class JoinableQueue<T = unknown> extends Queue<T> {
  constructor(options: QueueOptions = {}) {
    super(options);
  }

  protected static override readonly kind: string = 'multiproc.JoinableQueue';

  private tasksCells?: TaskCells;
  // Lazily: beforePublish may run before this subclass's fields are set up.
  private get tasks(): TaskCells {
    return (this.tasksCells ??= new TaskCells(this.ring));
  }

  // Counted before the item is published, so a consumer's taskDone() can never run before the matching put.
  protected override beforePublish(): void {
    this.tasks.add();
  }

  protected override afterAbandon(): void {
    this.tasks.abandon();
  }

  /** Marks one item taken with get() as processed. Throws if called more times than items were put. */
  taskDone(): void {
    this.checkOpen();
    if (!this.tasks.tryFinish()) throw new InvalidStateError('task_done() called too many times');
  }

  private allDoneAttempt(): () => true | typeof NOTHING {
    const tasks = this.tasks;
    return () => (tasks.allDone() ? true : NOTHING);
  }

  /** Resolves once every item put so far has been marked done; false if the timeout passed first. */
  async join(wait?: Wait): Promise<boolean> {
    const { timeout, signal } = parseWait(wait, 'JoinableQueue.join');
    this.checkOpen();
    return (await waitAsync(this.allDoneAttempt(), this.tasks.joinTarget, timeout, signal)) === true;
  }

  /** Blocking form of {@link join}. */
  joinSync(wait?: Wait): boolean {
    const { timeout } = parseWait(wait, 'JoinableQueue.joinSync');
    this.checkOpen();
    return waitSync(this.allDoneAttempt(), this.tasks.joinTarget, timeout) === true;
  }
}
