/**
 * Reading a manager connection's socket straight from its descriptor for a
 * few tens of µs, instead of returning to the event loop and waiting for
 * it. A loopback round trip takes ~25 µs; bytes caught this way skip the
 * loop's wake-up and Node's stream machinery, which together cost as much
 * again. They go to the FramedSocket as if they had come through the loop,
 * and whatever is not caught still comes through the loop.
 * - A Promise call over a socket (a remote manager, or a local one without
 *   a lane) reads for its reply right after sending its request.
 * - The server, after answering, reads for that client's next request.
 * A SpinGauge (spin.ts) stops a side's spins while they keep missing (a slow
 * link, a busy machine).
 */
import type { FramedSocket } from './framed-socket.ts';
import { receiveAvailable } from '../platform/blocking-socket.ts';
import { nowUs, spinPause, SpinGauge } from './spin.ts';

/** How long a side reads for bytes that have not come yet (µs). */
export const SOCKET_SPIN_US = 100;
/** The longest a server blocks its event loop reading one client while requests keep coming (µs). */
export const SERVER_SOCKET_SPIN_US = 250;
const CHUNK_BYTES = 64 * 1024;

export class SocketSpin {
  private readonly gauge = new SpinGauge();
  private chunk: Buffer | null = null;
  /** A server's read for the next request is queued or running. */
  private readingOn = false;

  private constructor(
    private readonly link: FramedSocket,
    private readonly fd: number,
  ) {}

  /** A spin for `link`, or null when its descriptor is not reachable. */
  static for(link: FramedSocket): SocketSpin | null {
    const fd = link.descriptor;
    return fd >= 0 ? new SocketSpin(link, fd) : null;
  }

  /**
   * Whether the socket still owns the descriptor: once Node has closed it
   * (the connection was dropped), its number may already name another file.
   */
  private get open(): boolean {
    return this.link.descriptor === this.fd;
  }

  /**
   * The server's side, called after it handled a request: reads on for the
   * client's next ones once the frames of the current read are all handled
   * (a microtask), since reading earlier would run them out of order.
   */
  readForNextRequest(): void {
    if (this.readingOn) return;
    this.readingOn = true;
    queueMicrotask(() => {
      try {
        this.read(SOCKET_SPIN_US, SERVER_SOCKET_SPIN_US);
      } finally {
        this.readingOn = false;
      }
    });
  }

  /**
   * Reads until `done()`, or `idleUs` after the last bytes came, or
   * `totalUs` in all. Caught: `done()` if given, else whether bytes came.
   */
  read(idleUs: number, totalUs: number, done?: () => boolean): void {
    if (!this.gauge.spinning) return;
    const chunk = (this.chunk ??= Buffer.allocUnsafe(CHUNK_BYTES));
    const start = nowUs();
    let idleStart = start;
    let caughtAny = false;
    for (;;) {
      if (!this.open) return;
      let got: number;
      try {
        got = receiveAvailable(this.fd, chunk);
      } catch {
        return; // a broken connection: the event loop meets the same error and drops it
      }
      // 0: the peer closed; the event loop sees that too, and fails or drops the connection.
      if (got === 0) return;
      if (got > 0) {
        caughtAny = true;
        this.link.receive(Buffer.from(chunk.subarray(0, got)));
        if (done?.()) return this.gauge.record(true);
        idleStart = nowUs();
      }
      const now = nowUs();
      if (now - idleStart >= idleUs || now - start >= totalUs) {
        return this.gauge.record(done ? false : caughtAny);
      }
      spinPause(idleStart);
    }
  }
}

