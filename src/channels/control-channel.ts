/**
 * Length-prefixed, V8-serialised messages over the socket pair that links a
 * parent to each child (fd 3 in the child). It carries the launch payload
 * and, being a socket, tells each side when the other has gone away. The
 * pool runs its task protocol over it, so the hot paths avoid copies.
 */
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { deserialize, serialize } from 'node:v8';
import { socketDescriptor, writeNow } from '../platform/blocking-socket.ts';

type MessageHandler = (message: unknown) => void;

/** Messages up to this size are framed by a copy and sent straight to the descriptor; bigger ones are not copied. */
const DIRECT_SEND_BYTES = 64 * 1024;

/** The 4-byte little-endian length that goes before each message's body. */
function lengthPrefix(bodyLength: number): Buffer {
  const header = Buffer.allocUnsafe(4);
  header.writeUInt32LE(bodyLength, 0);
  return header;
}

export class ControlChannel {
  /**
   * A channel over a socket descriptor of a forked child's link, opened when
   * first needed (a Socket made in a fresh fork costs copied pages) and not
   * ref'd: the link's own exit watch keeps the loop alive where needed.
   */
  static overDescriptor(fd: number): ControlChannel {
    const channel = new ControlChannel(new Socket({ fd, readable: true, writable: true }));
    channel.unref();
    return channel;
  }

  /** Received bytes not yet parsed; kept as a list so large messages arriving in pieces are copied once. */
  private chunks: Buffer[] = [];
  private buffered = 0;
  private readonly waiters: Array<{ resolve: (message: unknown) => void; reject: (error: Error) => void }> = [];
  private readonly inbox: unknown[] = [];
  private handler: MessageHandler | null = null;
  private closed = false;

  private greetingPending: boolean;
  private greet: () => void = () => {};
  /**
   * With `expectGreeting`, the peer's first message only says it is ready:
   * it settles `greeted` and is not delivered. Settles (never rejects) on close too.
   */
  readonly greeted: Promise<void>;

  constructor(
    readonly socket: Duplex & { ref?(): void; unref?(): void },
    options: { expectGreeting?: boolean } = {},
  ) {
    this.greetingPending = options.expectGreeting ?? false;
    this.greeted = new Promise((resolve) => (this.greet = resolve));
    if (!this.greetingPending) this.greet();
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    // A peer that dies leaves an error or an end; both just mean "gone".
    socket.on('error', () => {});
    // One listener for all pending next() calls, so repeated next() does not pile up listeners.
    socket.once('close', () => {
      this.closed = true;
      this.greet();
      const error = new Error('control channel closed before a message arrived');
      for (const waiter of this.waiters.splice(0)) waiter.reject(error);
    });
  }

  send(message: unknown): void {
    const body = serialize(message);
    if (body.length <= DIRECT_SEND_BYTES && this.socket.writableLength === 0) {
      // One small copy, then (usually) one send() with no stream machinery.
      writeNow(this.socket, socketDescriptor(this.socket), Buffer.concat([lengthPrefix(body.length), body]));
      return;
    }
    // cork/uncork hands both buffers to one writev instead of concatenating them.
    this.socket.cork();
    this.socket.write(lengthPrefix(body.length));
    this.socket.write(body);
    this.socket.uncork();
  }

  /** Sends several messages in one socket write. */
  sendMany(messages: readonly unknown[]): void {
    this.socket.cork();
    for (const message of messages) {
      const body = serialize(message);
      this.socket.write(lengthPrefix(body.length));
      this.socket.write(body);
    }
    this.socket.uncork();
  }

  /** The next message, or a rejection if the peer closes first. */
  next(): Promise<unknown> {
    if (this.inbox.length > 0) return Promise.resolve(this.inbox.shift());
    if (this.closed) return Promise.reject(new Error('control channel closed before a message arrived'));
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /**
   * Delivers every message (first those already received) to `handler`
   * synchronously as it is parsed, instead of through next(); null switches back.
   */
  onMessage(handler: MessageHandler | null): void {
    this.handler = handler;
    while (this.handler && this.inbox.length > 0) this.handler(this.inbox.shift());
  }

  /** Calls `listener` once the socket has closed (the peer died or close() was called). */
  onClose(listener: () => void): void {
    if (this.closed) queueMicrotask(listener);
    else this.socket.once('close', listener);
  }

  private onData(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    while (this.buffered >= 4) {
      let head = this.chunks[0];
      if (head.length < 4) head = this.merge();
      const size = head.readUInt32LE(0);
      if (this.buffered < 4 + size) break;
      if (head.length < 4 + size) head = this.merge();
      const message = deserialize(head.subarray(4, 4 + size));
      const rest = head.subarray(4 + size);
      if (rest.length > 0) this.chunks[0] = rest;
      else this.chunks.shift();
      this.buffered -= 4 + size;
      this.deliver(message);
    }
  }

  private merge(): Buffer {
    const whole = Buffer.concat(this.chunks, this.buffered);
    this.chunks = [whole];
    return whole;
  }

  private deliver(message: unknown): void {
    if (this.greetingPending) {
      this.greetingPending = false;
      return this.greet();
    }
    if (this.handler) return this.handler(message);
    const waiter = this.waiters.shift();
    if (waiter) waiter.resolve(message);
    else this.inbox.push(message);
  }

  ref(): void {
    this.socket.ref?.();
  }

  unref(): void {
    this.socket.unref?.();
  }

  close(): void {
    this.socket.destroy();
  }
}
