/**
 * Queue: a process-shared FIFO in the shape of Python's multiprocessing.Queue,
 * over one shared-memory ring (shm-ring.ts). Any number of processes may put
 * and get at once; each message is delivered exactly once, FIFO per producer.
 *
 * Unlike Python there is no feeder thread: `put` serialises and writes in the
 * caller, so an unserialisable value throws there (naming it) instead of
 * being lost in the background, and a message is in the queue when `put`
 * returns. A producer killed mid-message never corrupts what others receive:
 * messages are published only once completely written.
 */
import { Empty, Full, InvalidStateError } from '../errors.ts';
import {
  decodeMessage,
  decodeMessageAwaitingModules,
  encodeMessage,
  finishDecode,
  stableMessage,
  type EncodedMessage,
} from './message-codec.ts';
import { reduceForTransfer, revive, uninitialized, type ReducedShareable } from '../transfer/shareable.ts';
import { NOTHING, ShmRing } from './shm-ring.ts';
import { QueueCells } from './shm-ring-cells.ts';
import { waitAsync, waitSync, type WaitTarget } from './shm-ring-wait.ts';
import { checkOptions, describe, parseWait, type Wait } from '../checks.ts';
import { readiness, type Readiness } from './wait-ready.ts';

/** 8 MiB ring: messages up to 2 MiB (e.g. 1 MiB Buffers) stay inline, larger ones get a side segment. */
const RING_BYTES = 1 << 23;

/** Options of `new Queue(...)`. */
export interface QueueOptions {
  /** Most items the queue holds; 0 or less (default) means unbounded. */
  maxsize?: number;
}

/** A put that may have to wait: holds its queue slot (if taken) across attempts. */
class PendingPut {
  #slot = false;

  constructor(
    readonly ring: ShmRing,
    readonly cells: QueueCells,
    public message: EncodedMessage,
    readonly abandoned: () => void,
  ) {}

  attempt(): true | typeof NOTHING {
    if (!this.#slot && !(this.#slot = this.cells.tryCountPut())) return NOTHING;
    return this.ring.tryPut(this.message.body, this.message.tag) ? true : NOTHING;
  }

  giveUp(): void {
    if (this.#slot) this.cells.uncountPut();
    this.ring.abandonPut();
    this.abandoned();
  }
}

/** A process-shared queue. Pass it to children as a Process argument or inside messages. */
export class Queue<T = unknown> {
  private isClosed!: boolean;
  private closing!: AbortController;
  /** @internal */
  protected ring!: ShmRing;
  private dataWait!: WaitTarget;
  private spaceWait!: WaitTarget;
  private cells!: QueueCells;

  constructor(options: QueueOptions = {}) {
    checkOptions(options, 'Queue: options');
    const { maxsize = 0 } = options;
    if (typeof maxsize !== 'number' || !Number.isInteger(maxsize) || maxsize > 2 ** 31 - 1) {
      throw new TypeError(`Queue option 'maxsize' must be an integer (0 or less: unbounded), got ${describe(maxsize)}`);
    }
    this.attach(ShmRing.create(RING_BYTES));
    this.cells.initMaxsize(Math.max(0, maxsize));
  }

  private attach(ring: ShmRing): this {
    this.ring = ring;
    this.isClosed = false;
    this.closing = new AbortController();
    this.cells = new QueueCells(ring);
    this.dataWait = ring.dataWaitTarget();
    this.spaceWait = ring.spaceWaitTarget();
    return this;
  }

  /** @internal Rebuilds a queue of this class sent by another process (it travels as its ring's name). */
  static [revive]<Q extends Queue>(this: abstract new (...args: any[]) => Q, name: string): Q {
    return uninitialized(this).attach(ShmRing.open(name));
  }

  /** The bound given at creation (0: unbounded). */
  get maxsize(): number {
    return this.cells.maxsize;
  }

  protected checkOpen(): void {
    if (this.isClosed) throw new InvalidStateError(`${this.constructor.name} is closed`);
  }

  /** Called once per successful put before it is published (JoinableQueue counts tasks). */
  protected beforePublish(): void {}
  /** Undoes beforePublish when a put gives up. */
  protected afterAbandon(): void {}

  /** One put in progress (a class, not closures: tsx's keepNames makes every named closure cost ~1 µs). */
  private pendingPut(message: EncodedMessage): PendingPut {
    return new PendingPut(this.ring, this.cells, message, () => this.afterAbandon());
  }

  private encode(obj: unknown, method: string): EncodedMessage {
    this.checkOpen();
    return encodeMessage(obj, `${method}() argument obj`);
  }

  /** Puts `obj`, waiting for room if the queue is full; Full if `block: false` or `timeout` passes. */
  async put(obj: T, wait?: Wait): Promise<void> {
    const { timeout, signal: given } = parseWait(wait, `${this.constructor.name}.put`);
    const message = this.encode(obj, 'put');
    this.beforePublish();
    const put = this.pendingPut(message);
    let done: true | typeof NOTHING = NOTHING;
    try {
      given?.throwIfAborted();
      done = put.attempt();
      if (done === NOTHING) {
        // Before waiting, so that the caller changing its Buffer meanwhile does not change the message.
        put.message = stableMessage(put.message);
        const signal = given ? AbortSignal.any([given, this.closing.signal]) : this.closing.signal;
        done = await waitAsync(() => put.attempt(), this.spaceWait, timeout, signal);
      }
    } finally {
      if (done === NOTHING) put.giveUp();
    }
    if (done === NOTHING) throw new Full();
  }

  /** Blocking form of {@link put}. */
  putSync(obj: T, wait?: Wait): void {
    const { timeout } = parseWait(wait, `${this.constructor.name}.putSync`);
    const message = this.encode(obj, 'putSync');
    this.beforePublish();
    const put = this.pendingPut(message);
    if (put.attempt() === true) return;
    if (waitSync(() => put.attempt(), this.spaceWait, timeout) === NOTHING) {
      put.giveUp();
      throw new Full();
    }
  }

  /** `putSync(obj, { block: false })`: Full at once if there is no room. */
  putNowait(obj: T): void {
    this.putSync(obj, { block: false });
  }

  /** Takes the oldest item, waiting for one; Empty if `block: false` or `timeout` passes. Rejects if the queue is closed meanwhile. */
  async get(wait?: Wait): Promise<T> {
    const { timeout, signal: given } = parseWait(wait, `${this.constructor.name}.get`);
    this.checkOpen();
    const signal = given ? AbortSignal.any([given, this.closing.signal]) : this.closing.signal;
    const item = await waitAsync(() => this.ring.tryTake(decodeMessageAwaitingModules), this.dataWait, timeout, signal);
    if (item === NOTHING) throw new Empty();
    return finishDecode(item) as T;
  }

  /** Blocking form of {@link get}. */
  getSync(wait?: Wait): T {
    const { timeout } = parseWait(wait, `${this.constructor.name}.getSync`);
    this.checkOpen();
    const item = waitSync(() => this.ring.tryTake(decodeMessage), this.dataWait, timeout);
    if (item === NOTHING) throw new Empty();
    return item as T;
  }

  /** `getSync({ block: false })`: Empty at once if there is nothing. */
  getNowait(): T {
    return this.getSync({ block: false });
  }

  /** Items put and not yet taken, across all processes (approximate while others act, as in Python). */
  qsize(): number {
    this.checkOpen();
    return this.cells.size();
  }

  /** Whether qsize() is 0. */
  empty(): boolean {
    return this.qsize() === 0;
  }

  /** Whether the queue holds maxsize items. */
  full(): boolean {
    const max = this.maxsize;
    return max > 0 && this.qsize() >= max;
  }

  /** @internal How wait() watches this queue: ready once a get would not wait (an item is there), or once this handle is closed. */
  [readiness](): Readiness {
    this.checkOpen();
    const { ring, closing } = this;
    return {
      ready: () => this.isClosed || ring.ready(),
      target: this.dataWait,
      subscribe: (notify) => {
        closing.signal.addEventListener('abort', notify);
        return () => closing.signal.removeEventListener('abort', notify);
      },
    };
  }

  /** Whether close() was called on this handle. */
  get closed(): boolean {
    return this.isClosed;
  }

  /**
   * Closes this handle: later calls on it throw, and its pending get/put
   * reject. Other handles (other processes) keep working; items already put
   * stay in the queue for them. Idempotent.
   */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.closing.abort(new InvalidStateError(`${this.constructor.name} is closed`));
  }

  /**
   * Yields items as they arrive, in this process. The loop ends when close()
   * is called on this handle (e.g. by a producer side that is done, or after
   * a sentinel item you chose); `break` ends it without closing.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    while (!this.isClosed) {
      try {
        yield await this.get();
      } catch (error) {
        if (this.isClosed) return;
        throw error;
      }
    }
  }

  /** Closes on `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  /** Shareable kind under which this class travels. */
  protected static readonly kind: string = 'multiproc.Queue';

  /** @internal Travels as its ring's name. */
  [reduceForTransfer](): ReducedShareable {
    this.checkOpen();
    return { kind: (this.constructor as typeof Queue).kind, state: this.ring.name };
  }
}
