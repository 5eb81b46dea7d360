/**
 * A manager connection's socket seen as frames, used by both sides: during
 * the handshake frames are pulled one at a time (next()); afterwards they are
 * pushed to a handler. The frame limit is tiny until the handshake succeeds,
 * so an unauthenticated peer can make us buffer no more than a few hundred bytes.
 */
import type { Socket } from 'node:net';
import { FrameReader, frame } from './frames.ts';
import { socketDescriptor, writeNow } from '../platform/blocking-socket.ts';
import { HANDSHAKE_MAX_FRAME_BYTES, type HandshakeLink } from './auth.ts';

/** How long a peer may stay silent during the handshake (and a connect may take, for the sync client). */
export const HANDSHAKE_TIMEOUT_MS = 20_000;

export class FramedSocket implements HandshakeLink {
  private readonly reader = new FrameReader(HANDSHAKE_MAX_FRAME_BYTES);
  private queued: Buffer[] = [];
  private waiter: { resolve(frame: Buffer): void; reject(error: Error): void } | null = null;
  private handler: ((frame: Buffer) => void) | null = null;
  private closedReason: string | null = null;
  private readonly closeListeners: ((reason: string) => void)[] = [];

  constructor(readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', (error) => this.close(`socket error: ${error.message}`));
    socket.on('close', () => this.close('the peer closed the connection'));
  }

  send(body: Uint8Array): void {
    if (this.closedReason === null) this.socket.write(frame(body));
  }

  /** Writes a frame that already carries its length (serializeFramed), straight to the descriptor when it can (writeNow). */
  sendFramed(framed: Buffer): void {
    if (this.closedReason === null) writeNow(this.socket, this.descriptor, framed);
  }

  /**
   * The socket's descriptor, -1 once Node has closed it (its number may then
   * name another file). net.Socket keeps it on its handle (TCPWrap, PipeWrap).
   */
  get descriptor(): number {
    return this.closedReason !== null ? -1 : socketDescriptor(this.socket);
  }

  next(): Promise<Buffer> {
    const ready = this.queued.shift();
    if (ready) return Promise.resolve(ready);
    if (this.closedReason !== null) return Promise.reject(new Error(this.closedReason));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.close('the peer sent nothing during the handshake'), HANDSHAKE_TIMEOUT_MS);
      const settle = () => clearTimeout(timer);
      this.waiter = {
        resolve: (f) => (settle(), resolve(f)),
        reject: (e) => (settle(), reject(e)),
      };
    });
  }

  /** Ends the handshake: from now on every frame goes to `handler`, up to `maxFrameBytes` each. */
  deliverTo(handler: (frame: Buffer) => void, maxFrameBytes: number): void {
    this.reader.maxFrameBytes = maxFrameBytes;
    this.handler = handler;
    for (const f of this.queued.splice(0)) handler(f);
  }

  onClose(listener: (reason: string) => void): void {
    if (this.closedReason !== null) listener(this.closedReason);
    else this.closeListeners.push(listener);
  }

  get closed(): boolean {
    return this.closedReason !== null;
  }

  /** Closes the connection, once; `reason` reaches every close listener and any pending next(). */
  close(reason: string): void {
    if (this.closedReason !== null) return;
    this.closedReason = reason;
    this.socket.destroy();
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.reject(new Error(reason));
    for (const listener of this.closeListeners.splice(0)) listener(reason);
  }

  /** Takes bytes read from the socket's descriptor outside the event loop, as if they had come through it. */
  receive(chunk: Buffer): void {
    let frames: Buffer[];
    try {
      frames = this.reader.push(chunk);
    } catch (error) {
      return this.close((error as Error).message);
    }
    for (const f of frames) {
      if (this.closedReason !== null) return;
      if (this.handler) this.handler(f);
      else if (this.waiter) {
        const waiter = this.waiter;
        this.waiter = null;
        waiter.resolve(f);
      } else this.queued.push(f);
    }
  }
}
