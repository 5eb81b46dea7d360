/**
 * Pipe and Connection, as in Python's multiprocessing, over shared-memory
 * rings (one per direction) instead of OS pipes.
 *
 * End-of-file: each ring records, per end, which processes hold a handle
 * of it and how many (pipe-holders.ts), as the OS counts a pipe's file
 * descriptors. The far end is closed once no live process holds it — so a
 * reader sees EOFError only after every writer closed or died and the pipe
 * is drained, never while another process (the parent, say) still holds a
 * writer, and never hangs on a killed peer.
 */
import { BrokenPipeError, BufferTooShort, EOFError, InvalidStateError } from '../errors.ts';
import { copyOutOfShared, decodeMessage, decodeMessageAwaitingModules, encodeMessage, finishDecode } from './message-codec.ts';
import { reduceForTransfer, revive, type ReducedShareable } from '../transfer/shareable.ts';
import { NOTHING, ShmRing } from './shm-ring.ts';
import { pipeEnds } from './shm-ring-cells.ts';
import type { EndHolders } from './pipe-holders.ts';
import { waitAsync, waitSync, type WaitTarget } from './shm-ring-wait.ts';
import { parseWait, type Wait } from '../checks.ts';
import { readiness, type Readiness } from './wait-ready.ts';

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

/** This process's handle on one end of a ring: the end's holder table and our entry in it. */
interface HeldEnd {
  ring: ShmRing;
  /** The table of the end we hold. */
  mine: EndHolders;
  /** The table of the far end (whose holders decide EOF / broken pipe). */
  peer: EndHolders;
  slot: number;
  pid: number;
}

/** What a Connection travels as: ring names, and the sender's entries that count the handle in transit. */
interface ConnectionState {
  reader: string | null;
  writer: string | null;
  from: number;
  readerSlot: number;
  writerSlot: number;
}

function holdEnd(ring: ShmRing, side: 'reader' | 'writer'): HeldEnd {
  const { writers, readers } = pipeEnds(ring);
  const [mine, peer] = side === 'reader' ? [readers, writers] : [writers, readers];
  return { ring, mine, peer, slot: mine.hold(process.pid), pid: process.pid };
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
  readonly #readEnd: HeldEnd | null;
  readonly #writeEnd: HeldEnd | null;
  readonly #readWait: WaitTarget | null;
  readonly #writeWait: WaitTarget | null;
  /** When a live writer was last seen, and the writers' count then. */
  #writerSeenAt = -Infinity;
  #writersSeen = 0;

  /** @internal Use {@link Pipe}. Counts this handle as held by this process. */
  constructor(reader: ShmRing | null, writer: ShmRing | null) {
    this.#reader = reader;
    this.#writer = writer;
    this.#readEnd = reader && holdEnd(reader, 'reader');
    this.#writeEnd = writer && holdEnd(writer, 'writer');
    this.#readWait = reader && reader.dataWaitTarget();
    this.#writeWait = writer && writer.spaceWaitTarget();
  }

  /** @internal Rebuilds a connection sent by another process: counts it here, then uncounts it in transit. */
  static [revive](state: ConnectionState): Connection {
    const connection = new Connection(state.reader ? ShmRing.open(state.reader) : null, state.writer ? ShmRing.open(state.writer) : null);
    connection.#readEnd?.mine.release(state.from, state.readerSlot);
    connection.#writeEnd?.mine.release(state.from, state.writerSlot);
    return connection;
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
    if (this.#closed) throw new InvalidStateError('the connection is closed');
    if (!this.#reader) throw new InvalidStateError('this connection is write-only: it is the writing end of a Pipe({ duplex: false })');
    return this.#reader;
  }

  #writeRing(): ShmRing {
    if (this.#closed) throw new InvalidStateError('the connection is closed');
    if (!this.#writer) throw new InvalidStateError('this connection is read-only: it is the reading end of a Pipe({ duplex: false })');
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
    const readers = this.#writeEnd!.peer;
    if (readers.counted() > 0 && ring.tryPut(data, tag)) return;
    // A full ring blocks the sender, as a full OS pipe would.
    const sent = waitSync(() => {
      if (!readers.held()) throw new BrokenPipeError();
      return ring.tryPut(data, tag) ? true : NOTHING;
    }, this.#writeWait!);
    if (sent === NOTHING) ring.abandonPut();
  }

  /** Whether the writing end is closed: no live process holds a handle of it. */
  #writerGone(): boolean {
    const writers = this.#readEnd!.peer;
    const counted = writers.counted();
    if (counted <= 0) return true;
    // A close changes the count, so only a holder's death is noticed up to ALIVE_TRUST_MS late.
    const now = performance.now();
    if (counted === this.#writersSeen && now - this.#writerSeenAt < ALIVE_TRUST_MS) return false;
    if (!writers.held()) return true;
    this.#writersSeen = counted;
    this.#writerSeenAt = now;
    return false;
  }

  /** Attempts of the commonest receives, made once per connection. */
  #takeObject?: () => unknown;
  #takeObjectAwaiting?: () => unknown;
  #takeBytes?: () => Buffer | typeof NOTHING;

  #take<T>(read: (payload: Buffer) => T): () => T | typeof NOTHING {
    const ring = this.#readRing();
    if (read === (decodeMessage as unknown)) return (this.#takeObject ??= this.#attempt(ring, decodeMessage)) as () => T;
    if (read === (decodeMessageAwaitingModules as unknown)) {
      return (this.#takeObjectAwaiting ??= this.#attempt(ring, decodeMessageAwaitingModules)) as () => T;
    }
    if (read === (copyWhole as unknown)) return (this.#takeBytes ??= this.#attempt(ring, copyWhole)) as () => T;
    return this.#attempt(ring, read);
  }

  #attempt<T>(ring: ShmRing, read: (payload: Buffer) => T): () => T | typeof NOTHING {
    return () => {
      const result = ring.tryTake(read);
      if (result !== NOTHING) return result;
      // EOF only once drained: look again after seeing the writer gone, as it may have sent first.
      if (this.#writerGone()) {
        const last = ring.tryTake(read);
        if (last !== NOTHING) return last;
        throw new EOFError();
      }
      return NOTHING;
    };
  }

  /** Receives the next object; EOFError once the peer closed and nothing is left. */
  async recv(options: RecvOptions = {}): Promise<unknown> {
    return finishDecode(await waitAsync(this.#take(decodeMessageAwaitingModules), this.#readWait!, null, options.signal));
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
    return () => (ring.ready() || this.#writerGone() ? true : NOTHING);
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

  /** @internal How wait() watches this end: ready once a recv would not wait (a message, or EOF), or once this handle is closed. */
  [readiness](): Readiness {
    const ring = this.#readRing();
    return { ready: () => this.#closed || ring.ready() || this.#writerGone(), target: this.#readWait! };
  }

  /** Closes this handle; the peer gets EOFError (once drained) or BrokenPipeError when no other process holds this end. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const end of [this.#writeEnd, this.#readEnd]) {
      // A handle copied into another process by other means than transfer counts nowhere there.
      if (!end || end.pid !== process.pid) continue;
      end.mine.release(end.pid, end.slot);
      // Wake the peer's waits so they re-check for EOF / broken pipe.
      end.ring.wakeAllWaiters();
    }
  }

  /** Closes on `using` / `await using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** @internal Travels as the ring names; the handle counts as held by this process until the receiver revives it. */
  [reduceForTransfer](): ReducedShareable {
    if (this.#closed) throw new InvalidStateError('cannot send a closed connection to another process');
    const state: ConnectionState = {
      reader: this.#reader?.name ?? null,
      writer: this.#writer?.name ?? null,
      from: process.pid,
      readerSlot: this.#readEnd ? this.#readEnd.mine.hold(process.pid) : 0,
      writerSlot: this.#writeEnd ? this.#writeEnd.mine.hold(process.pid) : 0,
    };
    return { kind: KIND, state };
  }
}


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
