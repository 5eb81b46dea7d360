/**
 * The client's side of a manager lane (layout and protocol in
 * lane-layout.ts): it creates the segment, offers it to the server over the
 * authenticated socket, and then puts one call at a time in the mailbox.
 * Both the async and the sync connection use it; how each waits for the
 * reply is theirs (an async one through LaneReplyWatch below).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { copyBytes, createSegment } from '../platform/native.ts';
import { registerSegment, unregisterSegment } from '../platform/resource-tracker.ts';
import { unlinkQuietly } from '../channels/side-segment.ts';
import {
  ASYNC_POLL_US, ASYNC_SPIN_US, CAPACITY_CELL, CLIENT_PARKED, LANE_CAPACITY, MAGIC, MAGIC_CELL, NONCE_CELL, NONCE_CELLS,
  REP_LEN, REP_SEQ, REPLY_AREA, REPLY_ON_SOCKET, REQ_LEN, REQ_SEQ, REQUEST_AREA, SEGMENT_BYTES, SERVER_AWAKE,
} from './lane-layout.ts';
import { SpinGauge, nowUs, spinPause } from './spin.ts';

/** What reply() found: the reply's frame body, ON_SOCKET (it comes through the socket), or null (not yet). */
export const ON_SOCKET: unique symbol = Symbol('the reply comes through the socket');
export type LaneReply = Buffer | typeof ON_SOCKET | null;

/** Whether this process makes lanes (MULTIPROC_MANAGER_LANE=0 turns them off, to test or compare the socket path). */
export const lanesEnabled = process.env.MULTIPROC_MANAGER_LANE !== '0';

export class LaneClient {
  readonly i32: Int32Array;
  private readonly bytes: Uint8Array;
  /** A forked child inherits the mapping but must not write into its parent's mailbox. */
  private readonly pid = process.pid;
  private seq = 0;
  private inFlight = false;
  private linked = true;

  private constructor(
    readonly name: string,
    buffer: SharedArrayBuffer,
  ) {
    this.i32 = new Int32Array(buffer);
    this.bytes = new Uint8Array(buffer);
  }

  /**
   * A fresh segment, registered with the resource tracker before it exists,
   * so that a kill before unlinkName() cannot leak it.
   */
  static create(): LaneClient {
    const name = `/multiproc-lane-${randomUUID()}`;
    registerSegment(name);
    let buffer: SharedArrayBuffer;
    try {
      buffer = createSegment(name, SEGMENT_BYTES);
    } catch (error) {
      unregisterSegment(name);
      throw error;
    }
    const lane = new LaneClient(name, buffer);
    const nonce = new Int32Array(randomBytes(4 * NONCE_CELLS).buffer);
    for (let i = 0; i < NONCE_CELLS; i++) lane.i32[NONCE_CELL + i] = nonce[i]!;
    lane.i32[CAPACITY_CELL] = LANE_CAPACITY;
    Atomics.store(lane.i32, MAGIC_CELL, MAGIC);
    return lane;
  }

  /** The nonce to repeat in the offer, as plain numbers. */
  get nonce(): number[] {
    return Array.from(this.i32.subarray(NONCE_CELL, NONCE_CELL + NONCE_CELLS));
  }

  /** Removes the name once the server mapped it (or refused it): the mappings keep the memory, nothing can leak. */
  unlinkName(): void {
    if (!this.linked) return;
    this.linked = false;
    unlinkQuietly(this.name);
    unregisterSegment(this.name);
  }

  /** Whether a call may go through the mailbox now: this process's lane, no call in it. */
  get free(): boolean {
    return !this.inFlight && this.pid === process.pid;
  }

  /**
   * Publishes a request (a frame from encodeRequest, length in front); false
   * when its body does not fit, and the caller sends it through the socket.
   */
  trySend(framed: Buffer): boolean {
    const length = framed.length - 4;
    if (length > LANE_CAPACITY) return false;
    copyBytes(this.bytes, REQUEST_AREA, framed, 4, length);
    Atomics.store(this.i32, REQ_LEN, length);
    this.inFlight = true;
    Atomics.store(this.i32, REQ_SEQ, ++this.seq);
    return true;
  }

  /** Whether a call is in the mailbox, its reply not yet taken. */
  get busy(): boolean {
    return this.inFlight;
  }

  /** Whether the server stopped polling: then the caller rings the doorbell after trySend. */
  get serverAsleep(): boolean {
    return Atomics.load(this.i32, SERVER_AWAKE) === 0;
  }

  /** The reply to the call in the mailbox, once; null while it is not there. Throws for a malformed length. */
  reply(): LaneReply {
    if (!this.inFlight || Atomics.load(this.i32, REP_SEQ) !== this.seq) return null;
    this.inFlight = false;
    const length = Atomics.load(this.i32, REP_LEN);
    if (length === REPLY_ON_SOCKET) return ON_SOCKET;
    if (!(length > 0 && length <= LANE_CAPACITY)) throw new Error(`the manager wrote a lane reply of ${length} bytes`);
    const body = Buffer.allocUnsafe(length);
    copyBytes(body, 0, this.bytes, REPLY_AREA, length);
    return body;
  }

  /** From now on the server rings the doorbell when it replies (call reply() once more afterwards: it may have just done so). */
  park(): void {
    Atomics.store(this.i32, CLIENT_PARKED, 1);
  }

  unpark(): void {
    Atomics.store(this.i32, CLIENT_PARKED, 0);
  }
}

/**
 * How an async connection waits for its lane reply without blocking the
 * event loop for more than ASYNC_SPIN_US: a short spin, then a check on
 * every turn of the loop (setImmediate), then parked until the doorbell
 * (the socket's 'data'). `deliver` gets the reply; the owner calls
 * doorbell() for each empty frame and stop() when the connection drops.
 */
export class LaneReplyWatch {
  private deadline = 0;
  private polling = false;
  private stopped = false;
  private readonly gauge = new SpinGauge();

  constructor(
    private readonly lane: LaneClient,
    private readonly deliver: (reply: Buffer | typeof ON_SOCKET) => void,
    private readonly fail: (error: Error) => void,
  ) {}

  /** Called right after a request went into the mailbox. */
  start(): void {
    if (!this.gauge.spinning) return this.park();
    const start = nowUs();
    const spinEnd = start + ASYNC_SPIN_US;
    while (!this.check()) {
      if (nowUs() >= spinEnd) break;
      spinPause(start);
    }
    if (!this.lane.busy) return this.gauge.record(true);
    this.deadline = start + ASYNC_POLL_US;
    if (!this.polling) {
      this.polling = true;
      setImmediate(this.poll);
    }
  }

  doorbell(): void {
    this.check();
  }

  stop(): void {
    this.stopped = true;
  }

  private readonly poll = (): void => {
    this.polling = false;
    if (this.stopped || !this.lane.busy) return;
    if (this.check()) return this.gauge.record(true);
    if (nowUs() < this.deadline) {
      this.polling = true;
      setImmediate(this.poll);
      return;
    }
    this.gauge.record(false);
    this.park();
  };

  private park(): void {
    this.lane.park();
    this.check();
  }

  /** Delivers the reply if it is there; whether it was. */
  private check(): boolean {
    if (this.stopped) return false;
    let reply: LaneReply;
    try {
      reply = this.lane.reply();
    } catch (error) {
      this.fail(error as Error);
      return true;
    }
    if (reply === null) return false;
    this.lane.unpark();
    this.deliver(reply);
    return true;
  }
}
