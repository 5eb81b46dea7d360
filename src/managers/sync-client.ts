/**
 * The synchronous side of a manager connection, for `…Sync` proxy methods
 * in synchronous code. It owns a second socket to the manager, driven with
 * blocking calls on the calling thread through the native core
 * (src/platform/blocking-socket.ts): a call sends its request and blocks in
 * recv until its reply is in. Everything else (handshake, framing, encoding)
 * is the same code as the async client's. The descriptor is close-on-exec,
 * belongs to no libuv handle (so it never keeps a process alive, and works in
 * a child forked from the forkserver zygote), and is closed when the manager
 * shuts down, when the event loop sees it hang up between calls (main
 * thread), when this process's async connection to it drops, or when a call
 * finds it gone (EOF, reset): from then on every call fails at once with
 * ManagerGoneError, and none ever waits for a manager that is not there.
 */
import { readSmall } from './small-frames.ts';
import { isMainThread } from 'node:worker_threads';
import { ManagerGoneError } from '../errors.ts';
import { BlockingSocket } from '../platform/blocking-socket.ts';
import { FrameReader, frame, DEFAULT_MAX_FRAME_BYTES } from './frames.ts';
import { answerFor, answerIsRight, checkVerdict, makeChallenge, verdictFrame, wrongAnswer, HANDSHAKE_MAX_FRAME_BYTES } from './auth.ts';
import { HANDSHAKE_TIMEOUT_MS } from './framed-socket.ts';
import { encodeRequest, decodeReply } from './request-encoding.ts';
import { connectionKey, onConnectionLost, processOwnerId } from './client.ts';
import { Op, formatAddress, type ManagerAddress } from './protocol.ts';
import { DOORBELL, SYNC_SPIN_US } from './lane-layout.ts';
import { SpinGauge, nowUs, spinPause } from './spin.ts';
import { LaneClient, ON_SOCKET, lanesEnabled, type LaneReply } from './lane-client.ts';

const clients = new Map<string, SyncClient>();
const NOT_OURS = Symbol('a reply to another call');

// The manager is gone for this process's async connection: then for this one too.
onConnectionLost((key, reason) => clients.get(key)?.close(reason));

export class SyncClient {
  private readonly reader = new FrameReader(HANDSHAKE_MAX_FRAME_BYTES);
  private readonly frames: Buffer[] = [];
  private closed: string | null = null;
  private nextCallId = 1;
  /** A child forked with this client in its memory shares the socket: only the process that connected uses it. */
  private readonly pid = process.pid;
  /** Replies are awaited without a limit once authenticated; the manager's side enforces call timeouts. */
  private timeoutMs = HANDSHAKE_TIMEOUT_MS;
  private lane: LaneClient | null = null;
  /** A notification went through the socket: calls keep to the socket until a reply there confirms it was read (see client.ts). */
  private unconfirmed = false;
  /** Whether polling for replies pays (spin.ts): if not, a call sleeps in recv at once. */
  private readonly gauge = new SpinGauge();

  private constructor(
    readonly address: ManagerAddress,
    private readonly socket: BlockingSocket,
  ) {}

  /** Whether this process may send on this connection: open, and made by this process. */
  get usable(): boolean {
    return this.closed === null && this.pid === process.pid;
  }

  /** This process's synchronous connection to `address`, made and authenticated on first use. */
  static for(address: ManagerAddress, authkey: Uint8Array): SyncClient {
    const key = connectionKey(address, authkey);
    const known = clients.get(key);
    if (known?.usable) return known;
    if (known && known.pid !== process.pid) known.forget();
    let socket: BlockingSocket;
    try {
      socket = BlockingSocket.connect(address, HANDSHAKE_TIMEOUT_MS);
    } catch (error) {
      throw new ManagerGoneError(`cannot connect to the manager at ${formatAddress(address)}: ${(error as Error).message}`);
    }
    const client = new SyncClient(address, socket);
    try {
      client.handshake(authkey);
    } catch (error) {
      client.close('authentication failed');
      throw error;
    }
    clients.set(key, client);
    // Between calls, the event loop notices the manager going away, and the descriptor goes with it.
    if (isMainThread) socket.onHangup(() => client.close('the manager closed the connection'));
    return client;
  }

  /** This process's synchronous connection to `address` if one was made, without making one. */
  static existing(address: ManagerAddress, authkey: Uint8Array): SyncClient | undefined {
    const client = clients.get(connectionKey(address, authkey));
    return client?.pid === process.pid ? client : undefined;
  }

  /** Sends one request and blocks until its reply; throws ManagerGoneError if the manager is gone. */
  request(op: number, ...rest: unknown[]): unknown {
    if (this.closed !== null) throw this.goneError();
    const callId = this.nextCallId++;
    const { framed } = encodeRequest(op, callId, rest);
    const lane = this.lane;
    if (lane !== null && !this.unconfirmed && lane.free && lane.trySend(framed)) {
      if (lane.serverAsleep) this.sendFramed(DOORBELL);
      const reply = this.awaitLane(lane);
      if (reply !== ON_SOCKET) return this.decode(reply, callId);
    } else this.sendFramed(framed);
    for (;;) {
      const reply = this.decode(this.nextFrame({ spinUs: SYNC_SPIN_US }), callId);
      if (reply !== NOT_OURS) return reply;
    }
  }

  /** A request with no reply (decref): silently dropped once the manager is gone. */
  notify(op: number, ...rest: unknown[]): void {
    if (this.closed !== null) return;
    try {
      this.sendFramed(encodeRequest(op, 0, rest).framed);
      this.unconfirmed = true;
    } catch {
      // The connection is closed now; the manager drops its references with it.
    }
  }

  /**
   * The lane's reply: spun for up to SYNC_SPIN_US, then slept for in recv
   * on the socket, where the manager's doorbell (or its death) wakes us.
   */
  private awaitLane(lane: LaneClient): Buffer | typeof ON_SOCKET {
    const spinStart = nowUs();
    const spinEnd = this.gauge.spinning ? spinStart + SYNC_SPIN_US : 0;
    let reply: LaneReply;
    for (;;) {
      reply = this.laneReply(lane);
      if (reply !== null) {
        if (spinEnd > 0) this.gauge.record(true);
        return reply;
      }
      if (nowUs() >= spinEnd) break;
      spinPause(spinStart);
    }
    if (spinEnd > 0) this.gauge.record(false);
    lane.park();
    try {
      for (;;) {
        reply = this.laneReply(lane);
        if (reply !== null) return reply;
        const frame = this.nextFrame({ doorbell: true });
        if (frame.length === 0) continue;
        // The server marks the lane before it sends a reply through the socket: the mark must be there.
        this.frames.unshift(frame);
        reply = this.laneReply(lane);
        if (reply !== null) return reply;
        this.close('the manager sent a frame while a lane call was unanswered');
        throw this.goneError();
      }
    } finally {
      lane.unpark();
    }
  }

  private laneReply(lane: LaneClient): LaneReply {
    try {
      return lane.reply();
    } catch (error) {
      this.close((error as Error).message);
      throw this.goneError();
    }
  }

  /** The value of reply `frame` if it answers `callId`, else NOT_OURS. */
  private decode(frame: Buffer, callId: number): unknown {
    let reply: [number, number, unknown];
    try {
      reply = readSmall(frame);
    } catch (error) {
      this.close(`the manager sent an undecodable frame: ${(error as Error).message}`);
      throw this.goneError();
    }
    const [replyId, status, value] = reply;
    if (replyId !== callId) return NOT_OURS;
    this.unconfirmed = false;
    return decodeReply(status, value);
  }

  /** Closes the socket, once; every later call fails with ManagerGoneError citing `reason`. */
  close(reason: string): void {
    if (this.closed !== null) return;
    this.closed = reason;
    this.socket.close();
  }

  /** In a forked child: drops the parent's connection without a word to the manager (the parent still uses it). */
  private forget(): void {
    this.closed = 'inherited from the parent process';
    this.socket.close();
  }

  private handshake(authkey: Uint8Array): void {
    this.send(answerFor(authkey, this.nextFrame()));
    checkVerdict(this.nextFrame());
    const challenge = makeChallenge();
    this.send(challenge.frame);
    const accepted = answerIsRight(authkey, challenge.message, this.nextFrame());
    this.send(verdictFrame(accepted));
    if (!accepted) throw wrongAnswer();
    this.reader.maxFrameBytes = DEFAULT_MAX_FRAME_BYTES;
    this.timeoutMs = Infinity;
    this.request(Op.hello, processOwnerId);
    if (typeof this.address === 'string' && lanesEnabled) this.offerLane();
  }

  /** As the async client's offerLane (client.ts): a lane if the manager maps it, else the socket for everything. */
  private offerLane(): void {
    let lane: LaneClient;
    try {
      lane = LaneClient.create();
    } catch {
      return;
    }
    try {
      if (this.request(Op.lane, lane.name, lane.nonce) === true) this.lane = lane;
    } catch (error) {
      if (error instanceof ManagerGoneError) throw error;
    } finally {
      lane.unlinkName();
    }
  }

  private send(body: Buffer): void {
    this.sendFramed(frame(body));
  }

  private sendFramed(framed: Buffer): void {
    try {
      this.socket.send(framed);
    } catch (error) {
      this.close((error as Error).message);
      throw this.goneError();
    }
  }

  /**
   * The next frame, blocking; doorbells (empty frames) are skipped unless
   * `doorbell` asks for them. With `spinUs`, the socket is polled that long
   * before the thread sleeps in recv: a reply due in microseconds is then
   * read without the wake-up.
   */
  private nextFrame({ doorbell = false, spinUs = 0 } = {}): Buffer {
    const spinStart = nowUs();
    let spinEnd = spinUs > 0 && this.gauge.spinning ? spinStart + spinUs : 0;
    for (;;) {
      const ready = this.frames.shift();
      if (ready && (ready.length > 0 || doorbell)) return ready;
      if (ready) continue;
      if (this.closed !== null) throw this.goneError();
      let chunk: Buffer | null | undefined;
      if (spinEnd > 0 && nowUs() >= spinEnd) {
        this.gauge.record(false);
        spinEnd = 0;
      }
      try {
        chunk = spinEnd > 0 ? this.socket.receiveNow() : this.socket.receive(this.timeoutMs);
        if (spinEnd > 0 && chunk !== undefined) this.gauge.record(true);
      } catch (error) {
        const { code, message } = error as NodeJS.ErrnoException;
        this.close(code === 'ETIMEDOUT' ? 'the manager sent nothing during the handshake' : message);
        continue;
      }
      if (chunk === undefined) {
        spinPause(spinStart);
        continue;
      }
      if (chunk === null) {
        this.close('the manager closed the connection');
        continue;
      }
      try {
        this.frames.push(...this.reader.push(chunk));
      } catch (error) {
        this.close((error as Error).message);
      }
    }
  }

  private goneError(): ManagerGoneError {
    return new ManagerGoneError(`the manager at ${formatAddress(this.address)} is gone (${this.closed}); the call cannot complete`);
  }
}
