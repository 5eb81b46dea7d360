/**
 * The server's side of manager lanes (layout and protocol in
 * lane-layout.ts): mapping a client's segment once the client proves it made
 * it, taking requests out of the mailbox, putting replies in, and one poller
 * per server that watches every lane while requests keep coming and then
 * goes to sleep, leaving the doorbell (the socket) to wake it.
 *
 * The mailbox is written by another process: every body is copied out
 * before it is decoded, and a length out of bounds closes the connection.
 */
import { copyBytes, openSegment } from '../platform/native.ts';
import {
  CAPACITY_CELL, CLIENT_PARKED, LANE_CAPACITY, LANE_NAME, MAGIC, MAGIC_CELL, NONCE_CELL, NONCE_CELLS, REP_LEN, REP_SEQ,
  REPLY_AREA, REPLY_ON_SOCKET, REQ_LEN, REQ_SEQ, REQUEST_AREA, SEGMENT_BYTES, SERVER_AWAKE, SERVER_IDLE_US, SERVER_SLICE_US,
} from './lane-layout.ts';
import { SpinGauge, nowUs, spinPause } from './spin.ts';

export class LaneServer {
  private readonly i32: Int32Array;
  private readonly bytes: Uint8Array;
  private seen = 0;
  /** Requests are copied here before decoding: the client could change the shared bytes meanwhile. */
  private readonly incoming = Buffer.allocUnsafe(LANE_CAPACITY);

  private constructor(buffer: SharedArrayBuffer) {
    this.i32 = new Int32Array(buffer);
    this.bytes = new Uint8Array(buffer);
  }

  /** Maps the lane a client offers, or explains why not (the client then keeps to the socket). */
  static open(name: unknown, nonce: unknown): LaneServer | string {
    if (typeof name !== 'string' || !LANE_NAME.test(name)) return 'not a lane segment name';
    if (!Array.isArray(nonce) || nonce.length !== NONCE_CELLS) return 'a malformed nonce';
    let buffer: SharedArrayBuffer;
    try {
      buffer = openSegment(name);
    } catch (error) {
      return `cannot map it: ${(error as Error).message}`;
    }
    const lane = new LaneServer(buffer);
    const cells = lane.i32;
    const same = nonce.every((value, i) => cells[NONCE_CELL + i] === value);
    if (buffer.byteLength !== SEGMENT_BYTES || Atomics.load(cells, MAGIC_CELL) !== MAGIC || cells[CAPACITY_CELL] !== LANE_CAPACITY || !same) {
      return 'the segment is not the lane this client made';
    }
    lane.seen = Atomics.load(cells, REQ_SEQ);
    return lane;
  }

  /** The body of a newly published request (valid until the next take), or null. Throws for a malformed length. */
  take(): Buffer | null {
    const seq = Atomics.load(this.i32, REQ_SEQ);
    if (seq === this.seen) return null;
    this.seen = seq;
    const length = Atomics.load(this.i32, REQ_LEN);
    if (!(length > 0 && length <= LANE_CAPACITY)) throw new Error(`a lane request of ${length} bytes`);
    copyBytes(this.incoming, 0, this.bytes, REQUEST_AREA, length);
    return this.incoming.subarray(0, length);
  }

  /**
   * Answers the request last taken with `framed` (length in front). Returns
   * 'doorbell' when the client is parked and must be woken through the
   * socket, 'socket' when the reply is too big and must be sent there (the
   * mailbox already says so), or null.
   */
  answer(framed: Buffer): 'doorbell' | 'socket' | null {
    const length = framed.length - 4;
    if (length > LANE_CAPACITY) {
      // Published before the frame is written, so a client that sees it reads the socket and finds the frame coming.
      Atomics.store(this.i32, REP_LEN, REPLY_ON_SOCKET);
      Atomics.store(this.i32, REP_SEQ, this.seen);
      return 'socket';
    }
    copyBytes(this.bytes, REPLY_AREA, framed, 4, length);
    Atomics.store(this.i32, REP_LEN, length);
    Atomics.store(this.i32, REP_SEQ, this.seen);
    return Atomics.load(this.i32, CLIENT_PARKED) === 1 ? 'doorbell' : null;
  }

  setAwake(awake: boolean): void {
    Atomics.store(this.i32, SERVER_AWAKE, awake ? 1 : 0);
  }
}

/**
 * Watches every lane of a server. Asleep, it costs nothing: a client rings
 * the doorbell and the server calls wake(). Awake, it checks the lanes in
 * slices of up to SERVER_SLICE_US, with a turn of the event loop between
 * slices (sockets, timers and Promise replies keep flowing), until no
 * request came for SERVER_IDLE_US; then every lane says asleep, and one last
 * check catches a request published just before. Those turns of the loop
 * poll the sockets without sleeping, so a socket client's next request is
 * read without a wake-up too: the server wakes the poller for every request.
 */
export class LanePoller<L> {
  private readonly lanes = new Map<L, LaneServer>();
  private awake = false;
  private scheduled = false;
  private lastWork = 0;
  private stopped = false;
  /** Whether requests keep coming while awake: if not, the server sleeps right after each (see spin.ts). */
  private readonly gauge = new SpinGauge();

  /** `serve` takes the lane's pending request, if any, and runs it; whether there was one. */
  constructor(private readonly serve: (owner: L, lane: LaneServer) => boolean) {}

  add(owner: L, lane: LaneServer): void {
    this.lanes.set(owner, lane);
    lane.setAwake(this.awake);
  }

  remove(owner: L): void {
    this.lanes.delete(owner);
  }

  /** A doorbell rang or a lane request was served: poll for the next ones. */
  wake(): void {
    this.lastWork = nowUs();
    if (this.stopped) return;
    if (this.awake) return this.gauge.record(true);
    if (!this.gauge.spinning) return;
    this.awake = true;
    for (const lane of this.lanes.values()) lane.setAwake(true);
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    this.awake = false;
    for (const lane of this.lanes.values()) lane.setAwake(false);
    this.lanes.clear();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.tick);
  }

  private pollAll(): boolean {
    let any = false;
    for (const [owner, lane] of this.lanes) if (this.serve(owner, lane)) any = true;
    return any;
  }

  private readonly tick = (): void => {
    this.scheduled = false;
    if (this.stopped || !this.awake) return;
    let now = nowUs();
    if (this.lanes.size > 0) {
      const sliceStart = now;
      for (;;) {
        if (this.pollAll()) {
          this.lastWork = nowUs();
          this.gauge.record(true);
        }
        now = nowUs();
        if (now >= sliceStart + SERVER_SLICE_US || this.stopped) break;
        spinPause(Math.max(sliceStart, this.lastWork));
      }
    }
    if (now - this.lastWork < SERVER_IDLE_US) return this.schedule();
    this.gauge.record(false);
    this.awake = false;
    for (const lane of this.lanes.values()) lane.setAwake(false);
    if (this.pollAll()) this.wake();
  };
}
