/**
 * A multi-producer, multi-consumer message ring in one POSIX shared-memory
 * segment, usable from any number of processes at once. Queue and Pipe are
 * built on it; waiting lives in shm-ring-wait.ts.
 *
 * Protocol (all positions are byte counters that only grow, wrapping at 2^32;
 * a position's offset in the ring is `position & mask`):
 * - TAIL: producers reserve `[TAIL, TAIL + size)` with a compare-and-swap.
 * - HEAD: consumers claim the record at HEAD with a compare-and-swap.
 * - FREE: everything before FREE is free space, and free space is all zero
 *   bytes — so a freshly reserved record reads as state EMPTY until its
 *   producer writes it.
 *
 * A record is a 16-byte header [state, size, pid, meta] and a payload padded
 * to 16 bytes. A producer reserves, writes, and only then publishes with
 * state COMMITTED (reserve → write → commit). Consumers never look past an
 * unpublished record, so a producer killed mid-message cannot hand anyone a
 * torn message: its record stays WRITING, and once its pid is found dead it is
 * skipped (see {@link ShmRing.recover}). A record that does not fit before the
 * end of the ring is preceded by a PAD record reaching to the end.
 *
 * Consumers copy (or decode) the payload, zero it, and mark it DONE; whoever
 * finds DONE at FREE resets it and advances FREE. CAS on monotonic positions
 * makes a stale read harmless: the CAS fails and the caller reloads.
 */
import { readdirSync } from 'node:fs';
import { createSegment, futexWake, openSegment, unlinkSegment } from './native.ts';

/** Header cells (Int32 indices); hot counters sit on their own cache lines. */
export const TAIL = 0;
export const HEAD = 16;
export const FREE = 32;
/** Bumped after every commit (futex word for "data may be ready"); DATA_SEQ + 1 counts waiters. */
export const DATA_SEQ = 48;
/** Bumped after space is freed (futex word for "space may be free"); SPACE_SEQ + 1 counts waiters. */
export const SPACE_SEQ = 50;
/** Items put and not yet taken (Queue's qsize and maxsize). */
export const ITEMS = 52;
const CAPACITY = 53;
const MAGIC_CELL = 54;
/** Eight cells, 56..63, for the users of a ring (Pipe's end flags, JoinableQueue's counter). */
export const USER = 56;

const HEADER_BYTES = 256;
const REC = 16;
const MAGIC = 0x6d707172; // 'mpqr'

const S_EMPTY = 0;
const S_WRITING = 1;
const S_COMMITTED = 2;
const S_PAD = 3;
const S_CLAIMED = 4;
const S_DONE = 5;
/** meta bit: the payload names a side segment holding the message. */
const LARGE = 0x40000000;

/** Returned by {@link ShmRing.tryTake} when no published record is at HEAD. */
export const NOTHING: unique symbol = Symbol('nothing');

let counter = 0;
function newName(prefix: string): string {
  return `/mpq-${process.pid}-${(++counter).toString(36)}-${Math.random().toString(36).slice(2, 8)}${prefix}`;
}

function align16(n: number): number {
  return (n + 15) & ~15;
}

/** Whether a process exists (a cheap kill(pid, 0)); EPERM means it exists. */
export function pidAlive(pid: number): boolean {
  if (pid <= 0) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const created = new Set<ShmRing>();
let exitHookInstalled = false;
function unlinkCreatedRings(): void {
  for (const ring of created) ring.destroy();
}

/** One mapped ring. The creating process unlinks it (and any side segments) at exit. */
export class ShmRing {
  readonly i32: Int32Array;
  readonly bytes: Uint8Array;
  readonly capacity: number;
  private readonly mask: number;

  private constructor(
    readonly name: string,
    readonly buffer: SharedArrayBuffer,
  ) {
    this.i32 = new Int32Array(buffer);
    this.capacity = Atomics.load(this.i32, CAPACITY);
    this.mask = this.capacity - 1;
    this.bytes = new Uint8Array(buffer, HEADER_BYTES, this.capacity);
  }

  /** Creates a ring of `capacity` bytes (a power of two, at least 4 KiB). */
  static create(capacity: number): ShmRing {
    if (!Number.isInteger(capacity) || capacity < 4096 || (capacity & (capacity - 1)) !== 0 || capacity > 2 ** 30) {
      throw new RangeError(`ring capacity must be a power of two between 4096 and 2^30 bytes, got ${capacity}`);
    }
    const name = newName('');
    const buffer = createSegment(name, HEADER_BYTES + capacity);
    const i32 = new Int32Array(buffer, 0, HEADER_BYTES / 4);
    Atomics.store(i32, CAPACITY, capacity);
    Atomics.store(i32, MAGIC_CELL, MAGIC);
    const ring = new ShmRing(name, buffer);
    created.add(ring);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.on('exit', unlinkCreatedRings);
    }
    return ring;
  }

  /** Maps a ring created by any process. */
  static open(name: string): ShmRing {
    const buffer = openSegment(name);
    if (new Int32Array(buffer, 0, HEADER_BYTES / 4)[MAGIC_CELL] !== MAGIC) {
      throw new Error(`shared-memory segment ${name} is not a multiproc ring`);
    }
    return new ShmRing(name, buffer);
  }

  /** Largest payload stored inline; larger messages go to a side segment. */
  get inlineLimit(): number {
    return this.capacity / 4;
  }

  /** Unlinks the ring and every side segment still named after it (creator's exit). */
  destroy(): void {
    created.delete(this);
    const prefix = `${this.name.slice(1)}.`;
    try {
      for (const entry of readdirSync('/dev/shm')) if (entry.startsWith(prefix)) unlinkQuietly(`/${entry}`);
    } catch {
      // No /dev/shm listing (not Linux): side segments were unlinked by their readers.
    }
    unlinkQuietly(this.name);
  }

  /**
   * Publishes `data` as one message if there is room now; false if not.
   * Messages above {@link inlineLimit} are first written to their own
   * segment (outside any shared state), then only its name is published.
   */
  tryPut(data: Uint8Array): boolean {
    if (data.length > this.inlineLimit) return this.tryPutLarge(data);
    const off = this.reserve(data.length, data.length);
    if (off < 0) return false;
    this.bytes.set(data, off + REC);
    this.commit(off);
    return true;
  }

  private largeNames = 0;
  private pendingLarge: { data: Uint8Array; descriptor: Buffer } | null = null;

  private tryPutLarge(data: Uint8Array): boolean {
    // A caller that waits for space retries with the same data: reuse the
    // segment written on the first try instead of copying again.
    let pending = this.pendingLarge;
    if (pending?.data !== data) {
      const name = `${this.name}.${process.pid}.${++this.largeNames}`;
      const segment = createSegment(name, Math.max(1, data.length));
      new Uint8Array(segment).set(data);
      pending = this.pendingLarge = { data, descriptor: Buffer.from(`${name}\n${data.length}`) };
    }
    const descriptor = pending.descriptor;
    const off = this.reserve(descriptor.length, descriptor.length | LARGE);
    if (off < 0) return false;
    this.pendingLarge = null;
    this.bytes.set(descriptor, off + REC);
    this.commit(off);
    return true;
  }

  /** Drops a side segment written by a put that then gave up (timeout, Full). */
  abandonPut(): void {
    if (this.pendingLarge) unlinkQuietly(this.pendingLarge.descriptor.toString().split('\n')[0]!);
    this.pendingLarge = null;
  }

  /** Reserves a record for `length` payload bytes; its offset, or -1 if the ring lacks room. */
  private reserve(length: number, meta: number): number {
    const { i32 } = this;
    const total = REC + align16(length);
    for (;;) {
      const tail = Atomics.load(i32, TAIL);
      const free = Atomics.load(i32, FREE);
      let off = tail & this.mask;
      const contiguous = this.capacity - off;
      const need = total <= contiguous ? total : contiguous + total;
      if (((tail - free) | 0) + need > this.capacity) return -1;
      if (Atomics.compareExchange(i32, TAIL, tail, (tail + need) | 0) !== tail) continue;
      if (need !== total) {
        const pad = (HEADER_BYTES + off) >> 2;
        Atomics.store(i32, pad + 1, contiguous);
        Atomics.store(i32, pad, S_PAD);
        off = 0;
      }
      const at = (HEADER_BYTES + off) >> 2;
      i32[at + 1] = total;
      i32[at + 2] = process.pid;
      i32[at + 3] = meta;
      Atomics.store(i32, at, S_WRITING);
      return off;
    }
  }

  private commit(off: number): void {
    const { i32 } = this;
    Atomics.store(i32, (HEADER_BYTES + off) >> 2, S_COMMITTED);
    Atomics.add(i32, DATA_SEQ, 1);
    if (Atomics.load(i32, DATA_SEQ + 1) > 0) futexWake(i32, DATA_SEQ, Infinity);
  }

  /**
   * Takes the next published message and returns `read(payload)`, or
   * NOTHING if none is ready. `payload` is a view into shared memory, valid
   * only during `read`. If `read` throws, the message is still consumed.
   */
  tryTake<T>(read: (payload: Buffer) => T): T | typeof NOTHING {
    const { i32 } = this;
    for (;;) {
      const head = Atomics.load(i32, HEAD);
      if (head === Atomics.load(i32, TAIL)) return NOTHING;
      const off = head & this.mask;
      const at = (HEADER_BYTES + off) >> 2;
      const state = Atomics.load(i32, at);
      if (state === S_PAD) {
        if (Atomics.compareExchange(i32, HEAD, head, (head + i32[at + 1]!) | 0) === head) this.release(off);
        continue;
      }
      if (state !== S_COMMITTED) return NOTHING;
      const size = i32[at + 1]!;
      const meta = i32[at + 3]!;
      if (Atomics.compareExchange(i32, HEAD, head, (head + size) | 0) !== head) continue;
      Atomics.store(i32, at + 2, process.pid);
      Atomics.store(i32, at, S_CLAIMED);
      Atomics.sub(i32, ITEMS, 1);
      try {
        const length = meta & ~LARGE;
        const view = Buffer.from(this.buffer, HEADER_BYTES + off + REC, length);
        return meta & LARGE ? readLarge(view.toString(), read) : read(view);
      } finally {
        this.release(off);
      }
    }
  }

  /** Whether a published message (not a PAD) is at HEAD right now. */
  ready(): boolean {
    const { i32 } = this;
    for (;;) {
      const head = Atomics.load(i32, HEAD);
      if (head === Atomics.load(i32, TAIL)) return false;
      const at = (HEADER_BYTES + (head & this.mask)) >> 2;
      const state = Atomics.load(i32, at);
      if (state !== S_PAD) return state === S_COMMITTED;
      // Step over the PAD so the answer is about the record after it.
      if (Atomics.compareExchange(i32, HEAD, head, (head + i32[at + 1]!) | 0) === head) this.release(head & this.mask);
    }
  }

  /** Zeroes a claimed record (keeping its size for the reclaimer), marks it DONE, and reclaims. */
  private release(off: number): void {
    const at = (HEADER_BYTES + off) >> 2;
    this.bytes.fill(0, off + 8, off + this.i32[at + 1]!);
    Atomics.store(this.i32, at, S_DONE);
    this.reclaim();
  }

  /** Advances FREE over DONE records; the store order makes one of two racing releasers see the other. */
  private reclaim(): void {
    const { i32 } = this;
    let freed = false;
    for (;;) {
      const free = Atomics.load(i32, FREE);
      if (free === Atomics.load(i32, HEAD)) break;
      const at = (HEADER_BYTES + (free & this.mask)) >> 2;
      if (Atomics.compareExchange(i32, at, S_DONE, S_EMPTY) !== S_DONE) break;
      const size = i32[at + 1]!;
      Atomics.store(i32, at + 1, 0);
      Atomics.store(i32, FREE, (free + size) | 0);
      freed = true;
    }
    // A taken item also frees a slot of a bounded Queue even when no bytes
    // could be reclaimed yet, so wake space waiters whenever there are any.
    if (freed || Atomics.load(i32, SPACE_SEQ + 1) > 0) {
      Atomics.add(i32, SPACE_SEQ, 1);
      if (Atomics.load(i32, SPACE_SEQ + 1) > 0) futexWake(i32, SPACE_SEQ, Infinity);
    }
  }

  /**
   * Repairs what a killed process left behind; waiters call it when a wait
   * drags on. A record still WRITING at HEAD whose producer is dead is
   * skipped (its message was never published); a record CLAIMED at FREE
   * whose consumer is dead is freed (its message died with the consumer).
   */
  recover(): void {
    const { i32 } = this;
    const head = Atomics.load(i32, HEAD);
    if (head !== Atomics.load(i32, TAIL)) {
      const off = head & this.mask;
      const at = (HEADER_BYTES + off) >> 2;
      if (Atomics.load(i32, at) === S_WRITING && !pidAlive(i32[at + 2]!)) {
        if (Atomics.compareExchange(i32, HEAD, head, (head + i32[at + 1]!) | 0) === head) {
          Atomics.sub(i32, ITEMS, 1);
          this.release(off);
          Atomics.add(i32, DATA_SEQ, 1);
          futexWake(i32, DATA_SEQ, Infinity);
        }
      }
    }
    const free = Atomics.load(i32, FREE);
    if (free !== Atomics.load(i32, HEAD)) {
      const off = free & this.mask;
      const at = (HEADER_BYTES + off) >> 2;
      if (Atomics.load(i32, at) === S_CLAIMED && !pidAlive(i32[at + 2]!)) {
        if (Atomics.compareExchange(i32, at, S_CLAIMED, S_WRITING) === S_CLAIMED) this.release(off);
      }
    }
  }
}

function readLarge<T>(descriptor: string, read: (payload: Buffer) => T): T {
  const [name, length] = descriptor.split('\n') as [string, string];
  const segment = openSegment(name);
  // Unlink at once: the mapping stays valid, and nothing can leak after this.
  unlinkQuietly(name);
  return read(Buffer.from(segment, 0, Number(length)));
}

function unlinkQuietly(name: string): void {
  try {
    unlinkSegment(name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}
