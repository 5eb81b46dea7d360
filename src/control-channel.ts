/**
 * Length-prefixed, V8-serialised messages over the socket pair that links a
 * parent to each child (fd 3 in the child). It carries the launch payload
 * and, being a socket, tells each side when the other has gone away.
 */
import type { Duplex } from 'node:stream';
import { deserialize, serialize } from 'node:v8';

export class ControlChannel {
  private pending: Buffer = Buffer.alloc(0);
  private readonly waiters: Array<(message: unknown) => void> = [];
  private readonly inbox: unknown[] = [];

  constructor(readonly socket: Duplex & { ref?(): void; unref?(): void }) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    // A peer that dies leaves an error or an end; both just mean "gone".
    socket.on('error', () => {});
  }

  send(message: unknown): void {
    const body = serialize(message);
    const header = Buffer.allocUnsafe(4);
    header.writeUInt32LE(body.length, 0);
    this.socket.write(Buffer.concat([header, body]));
  }

  /** The next message, or a rejection if the peer closes first. */
  next(): Promise<unknown> {
    if (this.inbox.length > 0) return Promise.resolve(this.inbox.shift());
    return new Promise((resolve, reject) => {
      this.waiters.push(resolve);
      this.socket.once('close', () => reject(new Error('control channel closed before a message arrived')));
    });
  }

  private onData(chunk: Buffer): void {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    while (this.pending.length >= 4) {
      const size = this.pending.readUInt32LE(0);
      if (this.pending.length < 4 + size) break;
      const message = deserialize(this.pending.subarray(4, 4 + size));
      this.pending = this.pending.subarray(4 + size);
      const waiter = this.waiters.shift();
      if (waiter) waiter(message);
      else this.inbox.push(message);
    }
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
