/**
 * Python's manager.Queue() and JoinableQueue(): a queue living in the
 * manager, so any process connected to it (even on another machine) can use
 * it. Blocking get/put are pending Promises in the manager.
 */
import { Empty, Full } from '../errors.ts';
import { Waiters, checkTimeoutOption, deadlineOf, remaining } from './waiters.ts';

/** Options of get/put: the same as the library's own Queue. */
export interface ManagedQueueOptions {
  block?: boolean;
  timeout?: number | null;
}

export class ManagedQueue<T = unknown> {
  private readonly items: T[] = [];
  private readonly getters = new Waiters();
  private readonly putters = new Waiters();

  constructor(private readonly maxsize = 0) {
    if (!Number.isInteger(maxsize) || maxsize < 0) throw new RangeError(`Queue maxsize must be a non-negative integer, got ${maxsize}`);
  }

  async put(item: T, options: ManagedQueueOptions = {}): Promise<void> {
    const { block = true, timeout } = options;
    const deadline = deadlineOf(checkTimeoutOption(timeout, 'Queue.put'));
    while (this.full()) {
      if (!block || !(await this.putters.wait(remaining(deadline)))) throw new Full();
    }
    this.items.push(item);
    this.added();
    this.getters.wakeOne();
  }

  async get(options: ManagedQueueOptions = {}): Promise<T> {
    const { block = true, timeout } = options;
    const deadline = deadlineOf(checkTimeoutOption(timeout, 'Queue.get'));
    while (this.items.length === 0) {
      if (!block || !(await this.getters.wait(remaining(deadline)))) throw new Empty();
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

  /** Resolves once every item put has been marked done. */
  async join(): Promise<void> {
    while (this.unfinished > 0) await this.joiners.wait(null);
  }
}
