/**
 * Pipe and Connection, as in Python's multiprocessing, over shared-memory
 * rings (one per direction) instead of OS pipes.
 *
 * End-of-file: each ring records, per end, how many handles are open
 * (counted when a Connection is created or sent to another process, and
 * uncounted by close()) and the pid of the process that last attached to the
 * end. The far end is closed when its count is 0 or that process is dead —
 * so a reader sees EOFError after the writer closed or died and the pipe is
 * drained, and never hangs on a killed peer.
 */
import { BrokenPipeError, BufferTooShort, EOFError } from '../errors.ts';
import { copyOutOfShared, decodeMessage, encodeMessage } from './message-codec.ts';
import { futexWake } from '../platform/native.ts';
import { reduceForTransfer, registerShareable, type ReducedShareable } from '../transfer/shareable.ts';
import { DATA_SEQ, NOTHING, SPACE_SEQ, ShmRing, USER } from './shm-ring.ts';
import { pidAlive } from '../platform/owner-liveness.ts';
import { waitAsync, waitSync, type WaitTarget } from './shm-ring-wait.ts';
import { parseWait, type Wait } from '../checks.ts';

const WRITER_REFS = USER;
const READER_REFS = USER + 1;
const WRITER_PID = USER + 2;
const READER_PID = USER + 3;
const KIND = 'multiproc.Connection';
/** Each direction's ring; messages above a quarter of it travel in side segments. */
const RING_BYTES = 1 << 22;

/** Options of {@link Pipe}. */
export interface PipeOptions {
  /** Both ends can send and receive (default true); false gives `[reader, writer]`. */
  duplex?: boolean;
}

/** Reads a whole message as the receiver's own Buffer. */
const copyWhole = (payload: Buffer): Buffer => copyOutOfShared(payload);

/** Options of waiting receive calls. */
export interface RecvOptions {
  /** Cancels the wait: the promise rejects with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * How long a "writer is alive" answer is trusted. kill(pid, 0) costs ~1 µs
 * and a receive that finds the ring empty asks twice before it gets the
 * message, a good part of an ~8 µs round trip; a writer's death is noticed
 * at most this much later.
 */
const ALIVE_TRUST_MS = 1;

/** One end of a pipe. Sendable to other processes as a Process argument or inside a message. */
export class Connection {
  #closed = false;
  readonly #reader: ShmRing | null;
  readonly #writer: ShmRing | null;
  readonly #readWait: WaitTarget | null;
  readonly #writeWait: WaitTarget | null;
  /** The writer pid last found alive, and when. */
  #alivePid = 0;
  #aliveAt = -Infinity;

  /** @internal Use {@link Pipe}. */
  constructor(reader: ShmRing | null, writer: ShmRing | null, counted = false) {
    this.#reader = reader;
    this.#writer = writer;
    // Attaching makes this process the end's owner for dead-peer detection.
    if (reader) {
      if (!counted) Atomics.add(reader.i32, READER_REFS, 1);
      Atomics.store(reader.i32, READER_PID, process.pid);
    }
    if (writer) {
      if (!counted) Atomics.add(writer.i32, WRITER_REFS, 1);
      Atomics.store(writer.i32, WRITER_PID, process.pid);
    }
    this.#readWait = reader && { i32: reader.i32, word: DATA_SEQ, onSlice: () => reader.recover() };
    this.#writeWait = writer && { i32: writer.i32, word: SPACE_SEQ, onSlice: () => writer.recover() };
  }

  /** True once close() was called on this handle. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Whether this end can receive. */
  get readable(): boolean {
    return this.#reader !== null;
  }

  /** Whether this end can send. */
  get writable(): boolean {
    return this.#writer !== null;
  }

  #readRing(): ShmRing {
    if (this.#closed) throw new Error('the connection is closed');
    if (!this.#reader) throw new Error('this connection is write-only: it is the writing end of a Pipe({ duplex: false })');
    return this.#reader;
  }

  #writeRing(): ShmRing {
    if (this.#closed) throw new Error('the connection is closed');
    if (!this.#writer) throw new Error('this connection is read-only: it is the reading end of a Pipe({ duplex: false })');
    return this.#writer;
  }

  /** Sends `obj` (anything structured clone accepts, plus multiproc objects); an unsendable value throws here, naming it. */
  send(obj: unknown): void {
    const ring = this.#writeRing();
    const message = encodeMessage(obj, 'send() argument obj');
    this.#sendEncoded(ring, message.body, message.tag);
  }

  /**
   * Sends bytes as one message. `offset` and `size` count elements of `buf`
   * (bytes for a Buffer, ArrayBuffer or DataView), as in Python.
   */
  sendBytes(buf: ArrayBufferView | ArrayBuffer, offset = 0, size?: number): void {
    const ring = this.#writeRing();
    // The common call, a whole Buffer or Uint8Array, needs no view of its own.
    if (buf instanceof Uint8Array && offset === 0 && size === undefined) return this.#sendEncoded(ring, buf);
    let view: Uint8Array;
    let unit = 1;
    if (buf instanceof ArrayBuffer || buf instanceof SharedArrayBuffer) view = new Uint8Array(buf);
    else if (ArrayBuffer.isView(buf)) {
      unit = 'BYTES_PER_ELEMENT' in buf ? (buf as Uint16Array).BYTES_PER_ELEMENT : 1;
      view = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    } else throw new TypeError(`buf must be a Buffer, TypedArray, DataView or ArrayBuffer, got ${typeof buf}`);
    const length = view.length / unit;
    if (!Number.isInteger(offset) || offset < 0) throw new RangeError(`offset must be a non-negative integer, got ${offset}`);
    if (offset > length) throw new RangeError(`offset ${offset} is past the end of buf (length ${length})`);
    const count = size ?? length - offset;
    if (!Number.isInteger(count) || count < 0) throw new RangeError(`size must be a non-negative integer, got ${size}`);
    if (offset + count > length) throw new RangeError(`offset + size (${offset + count}) is past the end of buf (length ${length})`);
    this.#sendEncoded(ring, view.subarray(offset * unit, (offset + count) * unit));
  }

  #sendEncoded(ring: ShmRing, data: Uint8Array, tag = -1): void {
    if (Atomics.load(ring.i32, READER_REFS) > 0 && ring.tryPut(data, tag)) return;
    // A full ring blocks the sender, as a full OS pipe would.
    const sent = waitSync(() => {
      if (Atomics.load(ring.i32, READER_REFS) <= 0) throw new BrokenPipeError();
      return ring.tryPut(data, tag) ? true : NOTHING;
    }, this.#writeWait!);
    if (sent === NOTHING) ring.abandonPut();
  }

  /** Whether the writing end is closed: no open handle, or its process is dead. */
  #writerGone(ring: ShmRing): boolean {
    if (Atomics.load(ring.i32, WRITER_REFS) <= 0) return true;
    const pid = Atomics.load(ring.i32, WRITER_PID);
    const now = performance.now();
    if (pid === this.#alivePid && now - this.#aliveAt < ALIVE_TRUST_MS) return false;
    if (!pidAlive(pid)) return true;
    this.#alivePid = pid;
    this.#aliveAt = now;
    return false;
  }

  /** Attempts of the commonest receives, made once per connection. */
  #takeObject?: () => unknown;
  #takeBytes?: () => Buffer | typeof NOTHING;

  #take<T>(read: (payload: Buffer) => T): () => T | typeof NOTHING {
    const ring = this.#readRing();
    if (read === (decodeMessage as unknown)) return (this.#takeObject ??= this.#attempt(ring, decodeMessage)) as () => T;
    if (read === (copyWhole as unknown)) return (this.#takeBytes ??= this.#attempt(ring, copyWhole)) as () => T;
    return this.#attempt(ring, read);
  }

  #attempt<T>(ring: ShmRing, read: (payload: Buffer) => T): () => T | typeof NOTHING {
    return () => {
      const result = ring.tryTake(read);
      if (result !== NOTHING) return result;
      // EOF only once drained: look again after seeing the writer gone, as it may have sent first.
      if (this.#writerGone(ring)) {
        const last = ring.tryTake(read);
        if (last !== NOTHING) return last;
        throw new EOFError();
      }
      return NOTHING;
    };
  }

  /** Receives the next object; EOFError once the peer closed and nothing is left. */
  async recv(options: RecvOptions = {}): Promise<unknown> {
    return waitAsync(this.#take(decodeMessage), this.#readWait!, null, options.signal);
  }

  /** Blocking form of {@link recv}. */
  recvSync(): unknown {
    return waitSync(this.#take(decodeMessage), this.#readWait!);
  }

  #bytesReader(maxLength?: number): (payload: Buffer) => Buffer {
    if (maxLength === undefined) return copyWhole;
    if (!Number.isInteger(maxLength) || maxLength < 0) {
      throw new RangeError(`maxLength must be a non-negative integer, got ${maxLength}`);
    }
    return (payload) => {
      if (payload.length > maxLength) {
        throw new RangeError(`bad message length: ${payload.length} bytes exceed maxLength ${maxLength}; the message was discarded`);
      }
      return copyOutOfShared(payload);
    };
  }

  /** Receives the next message as a Buffer (one sent by sendBytes); a longer one than `maxLength` throws and is dropped. */
  async recvBytes(maxLength?: number, options: RecvOptions = {}): Promise<Buffer> {
    return (await waitAsync(this.#take(this.#bytesReader(maxLength)), this.#readWait!, null, options.signal)) as Buffer;
  }

  /** Blocking form of {@link recvBytes}. */
  recvBytesSync(maxLength?: number): Buffer {
    return waitSync(this.#take(this.#bytesReader(maxLength)), this.#readWait!) as Buffer;
  }

  #intoReader(buf: ArrayBufferView | ArrayBuffer, offset: number): (payload: Buffer) => number {
    const target =
      buf instanceof ArrayBuffer || buf instanceof SharedArrayBuffer
        ? new Uint8Array(buf)
        : ArrayBuffer.isView(buf)
          ? new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)
          : null;
    if (!target) throw new TypeError(`buf must be a Buffer, TypedArray, DataView or ArrayBuffer, got ${typeof buf}`);
    if (!Number.isInteger(offset) || offset < 0 || offset > target.length) {
      throw new RangeError(`offset must be an integer in [0, ${target.length}] (bytes), got ${offset}`);
    }
    return (payload) => {
      if (payload.length > target.length - offset) throw new BufferTooShort(copyOutOfShared(payload));
      target.set(payload, offset);
      return payload.length;
    };
  }

  /** Receives the next message into `buf` at byte `offset`; returns its length. BufferTooShort (carrying it) if it does not fit. */
  async recvBytesInto(buf: ArrayBufferView | ArrayBuffer, offset = 0, options: RecvOptions = {}): Promise<number> {
    return (await waitAsync(this.#take(this.#intoReader(buf, offset)), this.#readWait!, null, options.signal)) as number;
  }

  /** Blocking form of {@link recvBytesInto}. */
  recvBytesIntoSync(buf: ArrayBufferView | ArrayBuffer, offset = 0): number {
    return waitSync(this.#take(this.#intoReader(buf, offset)), this.#readWait!) as number;
  }

  #pollAttempt(): () => true | typeof NOTHING {
    const ring = this.#readRing();
    return () => (ring.ready() || this.#writerGone(ring) ? true : NOTHING);
  }

  /**
   * Whether a recv would not wait (a message or EOF), waiting up to the
   * timeout: a number of ms or `{ timeout, block, signal }`; default 0 (do
   * not wait, as in Python), null: forever, negative: do not wait.
   */
  async poll(wait: Wait = 0): Promise<boolean> {
    const { timeout, signal } = parseWait(wait, 'Connection.poll', 0);
    return (await waitAsync(this.#pollAttempt(), this.#readWait!, timeout, signal)) === true;
  }

  /** Blocking form of {@link poll}. */
  pollSync(wait: Wait = 0): boolean {
    const { timeout } = parseWait(wait, 'Connection.pollSync', 0);
    return waitSync(this.#pollAttempt(), this.#readWait!, timeout) === true;
  }

  /** Closes this handle; the peer then gets EOFError (once drained) or BrokenPipeError. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const [ring, refs, word] of [
      [this.#writer, WRITER_REFS, DATA_SEQ],
      [this.#reader, READER_REFS, SPACE_SEQ],
    ] as const) {
      if (!ring) continue;
      Atomics.sub(ring.i32, refs, 1);
      // Wake the peer's waits so they re-check for EOF / broken pipe.
      Atomics.add(ring.i32, word, 1);
      futexWake(ring.i32, word, Infinity);
    }
  }

  /** Closes on `using` / `await using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** @internal Travels as the ring names; each transfer counts as one more open handle of the end. */
  [reduceForTransfer](): ReducedShareable {
    if (this.#closed) throw new Error('cannot send a closed connection to another process');
    // pid 0 = in transit (counts as alive) until the receiving process attaches,
    // so a previous holder's death does not read as EOF meanwhile.
    if (this.#reader) {
      Atomics.add(this.#reader.i32, READER_REFS, 1);
      Atomics.store(this.#reader.i32, READER_PID, 0);
    }
    if (this.#writer) {
      Atomics.add(this.#writer.i32, WRITER_REFS, 1);
      Atomics.store(this.#writer.i32, WRITER_PID, 0);
    }
    return { kind: KIND, state: { reader: this.#reader?.name ?? null, writer: this.#writer?.name ?? null } };
  }
}

registerShareable(KIND, (state: { reader: string | null; writer: string | null }) => {
  return new Connection(state.reader ? ShmRing.open(state.reader) : null, state.writer ? ShmRing.open(state.writer) : null, true);
});

/** Creates a pipe: `[Connection, Connection]`; with `duplex: false`, `[reader, writer]`. */
export function Pipe(options: PipeOptions = {}): [Connection, Connection] {
  if (typeof options !== 'object' || options === null) throw new TypeError(`Pipe options must be an object, got ${typeof options}`);
  const { duplex = true } = options;
  if (typeof duplex !== 'boolean') throw new TypeError(`Pipe option 'duplex' must be a boolean, got ${typeof duplex}`);
  const forward = ShmRing.create(RING_BYTES);
  if (!duplex) return [new Connection(forward, null), new Connection(null, forward)];
  const backward = ShmRing.create(RING_BYTES);
  return [new Connection(forward, backward), new Connection(backward, forward)];
}
