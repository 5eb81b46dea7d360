/**
 * Typed access to native/blocking_socket.cc: a stream socket driven with
 * blocking calls on the calling thread (connect with a timeout, send all,
 * receive with a timeout), for code that must wait synchronously for a peer,
 * the synchronous manager proxy calls. The descriptor is close-on-exec and
 * belongs to no libuv handle, so it never keeps the event loop alive; it is
 * the owner's job to close() it. Failures are Node-style system errors
 * (`code` such as ECONNREFUSED, ECONNRESET, ETIMEDOUT; `errno`, `syscall`).
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

interface BlockingSocketAddon {
  connectUnix(path: string, timeoutMs: number): number;
  connectTcp(host: string, port: number, timeoutMs: number): number;
  sendAll(fd: number, bytes: Uint8Array): void;
  receiveInto(fd: number, target: Uint8Array, timeoutMs: number): number;
  receiveNow(fd: number, target: Uint8Array): number;
  sendNow?(fd: number, bytes: Uint8Array): number;
  watchHangup(fd: number, callback: () => void): () => void;
  closeSocket(fd: number): void;
}

const requireCjs = createRequire(import.meta.url);
const loadBinding = requireCjs('node-gyp-build') as (dir: string) => unknown;
// The package root sits one level above both src/ and dist/.
const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const addon = loadBinding(packageRoot) as BlockingSocketAddon;

/** A Unix socket path (abstract when it starts with '\0') or a TCP host and port. */
export type SocketAddress = string | { host: string; port: number };

const RECEIVE_BYTES = 64 * 1024;

/** A net.Socket's descriptor (kept on its handle, TCPWrap or PipeWrap), -1 once Node has closed it. */
export function socketDescriptor(socket: object): number {
  const fd = (socket as { _handle?: { fd?: unknown } | null })._handle?.fd;
  return typeof fd === 'number' ? fd : -1;
}

/**
 * send() and recv() without waiting, on any socket descriptor, even one the
 * event loop also uses (when nothing of its own is queued there): bytes sent
 * or read, -1 when the socket's buffer is full or nothing has come, and for
 * a read 0 once the peer closed. Errors are thrown (EPIPE, ECONNRESET, ...).
 */
export function sendAvailable(fd: number, bytes: Uint8Array): number {
  if (typeof addon.sendNow !== 'function') return -1;
  return addon.sendNow(fd, bytes);
}

/**
 * Writes `bytes` to a socket that Node also drives: with nothing of Node's
 * queued there, straight to the descriptor, skipping the stream's write
 * machinery (about as costly as the send itself); what the kernel does not
 * take, and everything when something is queued, goes the usual way, so the
 * order of writes is kept. A broken connection is left to the stream's write to meet.
 */
export function writeNow(socket: { writableLength: number; write(bytes: Uint8Array): unknown }, fd: number, bytes: Uint8Array): void {
  let sent = -1;
  if (fd >= 0 && socket.writableLength === 0) {
    try {
      sent = sendAvailable(fd, bytes);
    } catch {
      sent = -1;
    }
  }
  if (sent === bytes.length) return;
  socket.write(sent > 0 ? bytes.subarray(sent) : bytes);
}

/** recv() counterpart of sendAvailable. */
export function receiveAvailable(fd: number, target: Uint8Array): number {
  if (typeof addon.receiveNow !== 'function') return -1;
  return addon.receiveNow(fd, target);
}

export class BlockingSocket {
  #fd: number;
  #stopWatch: (() => void) | null = null;
  // Received bytes land here first; receive() hands out a copy of what came.
  readonly #incoming = Buffer.allocUnsafe(RECEIVE_BYTES);

  private constructor(fd: number) {
    this.#fd = fd;
  }

  /** Connects, blocking up to `timeoutMs` (Infinity: no limit); throws the system error (ECONNREFUSED, ENOENT, ETIMEDOUT, ...). */
  static connect(address: SocketAddress, timeoutMs: number): BlockingSocket {
    const fd = typeof address === 'string' ? addon.connectUnix(address, timeoutMs) : addon.connectTcp(address.host, address.port, timeoutMs);
    return new BlockingSocket(fd);
  }

  get closed(): boolean {
    return this.#fd < 0;
  }

  /** Writes every byte of `bytes`, blocking until the kernel took them; throws EPIPE, ECONNRESET, ... if the connection broke. */
  send(bytes: Uint8Array): void {
    addon.sendAll(this.#open('send'), bytes);
  }

  /**
   * The next bytes from the peer (a fresh Buffer), blocking up to
   * `timeoutMs` (Infinity: no limit); null once the peer closed. Throws
   * ETIMEDOUT when nothing came in time, ECONNRESET ... if the connection broke.
   */
  receive(timeoutMs: number): Buffer | null {
    const got = addon.receiveInto(this.#open('recv'), this.#incoming, timeoutMs);
    return got === 0 ? null : Buffer.from(this.#incoming.subarray(0, got));
  }

  /** Like receive(), without waiting: undefined when nothing has come yet (for a poll before blocking). */
  receiveNow(): Buffer | null | undefined {
    // An addon built before receiveNow existed: nothing yet, and the caller blocks in receive() after its spin.
    if (typeof addon.receiveNow !== 'function') return undefined;
    const got = addon.receiveNow(this.#open('recv'), this.#incoming);
    if (got < 0) return undefined;
    return got === 0 ? null : Buffer.from(this.#incoming.subarray(0, got));
  }

  /**
   * Calls `callback` once, from the event loop, if the peer closes or the
   * connection breaks while this socket is not in use (between blocking
   * calls); an unref'd watch, stopped by close(). Main thread only: a
   * worker's loop must end without foreign handles.
   */
  onHangup(callback: () => void): void {
    if (this.#stopWatch) throw new Error('onHangup: a hang-up callback is already set');
    this.#stopWatch = addon.watchHangup(this.#open('watch'), callback);
  }

  /** Closes the descriptor (stopping the hang-up watch first); idempotent. */
  close(): void {
    const fd = this.#fd;
    if (fd < 0) return;
    this.#fd = -1;
    this.#stopWatch?.();
    this.#stopWatch = null;
    addon.closeSocket(fd);
  }

  #open(syscall: string): number {
    if (this.#fd >= 0) return this.#fd;
    throw Object.assign(new Error(`EBADF: the socket is closed, ${syscall}`), { code: 'EBADF', syscall });
  }
}
