/**
 * Python's manager.Queue() and JoinableQueue(): a queue living in the
 * manager, so any process connected to it (even on another machine) can use
 * it. Blocking get/put are pending Promises in the manager.
 */
import { Empty, Full } from '../errors.ts';
import { Waiters, deadlineOf, managedWait, remaining } from './waiters.ts';
import type { ManagedWait } from './referents-sync.ts';

export class ManagedQueue<T = unknown> {
  private readonly items: T[] = [];
  private readonly getters = new Waiters();
  private readonly putters = new Waiters();

  constructor(private readonly maxsize = 0) {
    if (!Number.isInteger(maxsize) || maxsize < 0) throw new RangeError(`Queue maxsize must be a non-negative integer, got ${maxsize}`);
  }

  /** Adds an item, waiting for room at most the wait's timeout (ms, or `{ timeout, block }`); Full if there is none. */
  async put(item: T, wait?: ManagedWait): Promise<void> {
    const limit = managedWait(wait, 'Queue.put');
    const deadline = deadlineOf(limit);
    while (this.full()) {
      if (limit === 0 || !(await this.putters.wait(remaining(deadline)))) throw new Full();
    }
    this.items.push(item);
    this.added();
    this.getters.wakeOne();
  }

  /** Takes the oldest item, waiting at most the wait's timeout (ms, or `{ timeout, block }`); Empty if none came. */
  async get(wait?: ManagedWait): Promise<T> {
    const limit = managedWait(wait, 'Queue.get');
    const deadline = deadlineOf(limit);
    while (this.items.length === 0) {
      if (limit === 0 || !(await this.getters.wait(remaining(deadline)))) throw new Empty();
    }
    const item = this.items.shift() as T;
    this.putters.wakeOne();
    return item;
  }

  putNowait(item: T): Promise<void> {
    return this.put(item, { block: false });
  }

  getNowait(): Promise<T> {
    return this.get({ block: false });
  }

  qsize(): number {
    return this.items.length;
  }

  empty(): boolean {
    return this.items.length === 0;
  }

  full(): boolean {
    return this.maxsize > 0 && this.items.length >= this.maxsize;
  }

  protected added(): void {}
}

export class ManagedJoinableQueue<T = unknown> extends ManagedQueue<T> {
  private unfinished = 0;
  private readonly joiners = new Waiters();

  protected override added(): void {
    this.unfinished++;
  }

  taskDone(): void {
    if (this.unfinished === 0) throw new RangeError('taskDone() called too many times');
    if (--this.unfinished === 0) this.joiners.wakeAll();
  }

  /** Resolves true once every item put has been marked done, or false after the wait's timeout (ms, or `{ timeout, block }`), as JoinableQueue.join. */
  async join(wait?: ManagedWait): Promise<boolean> {
    const deadline = deadlineOf(managedWait(wait, 'JoinableQueue.join'));
    while (this.unfinished > 0) {
      if (!(await this.joiners.wait(remaining(deadline))) && this.unfinished > 0) return false;
    }
    return true;
  }
}
