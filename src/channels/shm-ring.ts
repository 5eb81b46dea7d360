/**
 * A multi-producer, multi-consumer message ring in one POSIX shared-memory
 * segment, usable from any number of processes at once. Queue and Pipe are
 * built on it; waiting lives in shm-ring-wait.ts, the header layout in
 * shm-ring-layout.ts, the clients' header cells in shm-ring-cells.ts and
 * segment naming and unlinking in side-segment.ts. Reserve, take, reclaim
 * and recover stay in this one file because their correctness rests on one
 * set of invariants, best read together.
 *
 * Protocol (all positions are byte counters that only grow, wrapping at 2^32;
 * a position's offset in the ring is `position & mask`):
 * - TAIL: producers reserve `[TAIL, TAIL + size)` with a compare-and-swap.
 * - HEAD: consumers claim the record at HEAD with a compare-and-swap.
 * - FREE: everything before FREE is free space, and in free space every
 *   16-byte-aligned word (a possible record state) is zero — so a freshly
 *   reserved record reads as state EMPTY until its producer writes it.
 *
 * NEVER_FULL: reserve always leaves at least one 16-byte block free, so the
 * block at TAIL is free space, and zero. A consumer therefore needs no TAIL
 * check: the word at HEAD reads COMMITTED or PAD only if a producer has
 * reserved past it (otherwise HEAD === TAIL and it reads EMPTY).
 *
 * A record is a 16-byte header [state, size, pid, meta] and a payload padded
 * to 16 bytes. A producer reserves, writes, and only then publishes with
 * state COMMITTED (reserve → write → commit). Consumers never look past an
 * unpublished record, so a producer killed mid-message cannot hand anyone a
 * torn message: its record stays WRITING, and once its pid is found dead it is
 * skipped (see {@link ShmRing.recover}). A record that does not fit before the
 * end of the ring is preceded by a PAD record reaching to the end.
 *
 * Consumers copy (or decode) the payload, zero its state words, and mark it
 * DONE (a large record is left DIRTY, and zeroed by a producer that needs
 * the room); whoever finds DONE at FREE resets it and advances FREE. CAS on
 * monotonic positions makes a stale read harmless: the CAS fails and the
 * caller reloads.
 */
import { copyBytes, createSegment, futexWake, openSegment, zeroBytes } from '../platform/native.ts';
import { newRingName, readSideSegment, unlinkQuietly, unlinkRingSegments, writeSideSegment } from './side-segment.ts';
import { registerSegment } from '../platform/resource-tracker.ts';
import { pidAlive } from '../platform/owner-liveness.ts';
import { onProcessExit, ExitOrder } from '../platform/exit-hooks.ts';
import { CAPACITY, DATA_SEQ, FREE, HEAD, HEADER_BYTES, LARGE, MAGIC, MAGIC_CELL, NOTHING, REC, SPACE_SEQ, TAG_BYTES, TAIL, TAKES } from './shm-ring-layout.ts';
import { S_CLAIMED, S_COMMITTED, S_DIRTY, S_DONE, S_EMPTY, S_PAD, S_WRITING } from './shm-ring-layout.ts';
import { wakeCounted } from '../sync/counted-wait.ts';
import type { WaitTarget } from './shm-ring-wait.ts';

export { NOTHING, TAG_BYTES } from './shm-ring-layout.ts';

/** Records up to this many words are released with a loop; larger ones with zeroBytes. */
const ZERO_LOOP_WORDS = 256;

function align16(n: number): number {
  return (n + 15) & ~15;
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
    const name = newRingName();
    // Registered first, so that no kill can fall between creation and registration.
    registerSegment(name);
    const buffer = createSegment(name, HEADER_BYTES + capacity);
    const i32 = new Int32Array(buffer, 0, HEADER_BYTES / 4);
    Atomics.store(i32, CAPACITY, capacity);
    Atomics.store(i32, MAGIC_CELL, MAGIC);
    const ring = new ShmRing(name, buffer);
    created.add(ring);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      onProcessExit(ExitOrder.unlinkSegments, unlinkCreatedRings);
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

  /** What a consumer waits on ("data may be ready"); dead processes' leftovers are repaired between sleeps. */
  dataWaitTarget(): WaitTarget {
    return { i32: this.i32, word: DATA_SEQ, onSlice: () => this.recover() };
  }

  /** What a producer waits on ("space may be free"), repairing as dataWaitTarget does. */
  spaceWaitTarget(): WaitTarget {
    return { i32: this.i32, word: SPACE_SEQ, onSlice: () => this.recover() };
  }

  /** Wakes every waiter (data and space) so that it re-checks its condition, e.g. after a pipe end closed. */
  wakeAllWaiters(): void {
    for (const word of [DATA_SEQ, SPACE_SEQ]) {
      Atomics.add(this.i32, word, 1);
      futexWake(this.i32, word, Infinity);
    }
  }

  /** Largest payload stored inline; larger messages go to a side segment. */
  get inlineLimit(): number {
    return this.capacity / 4;
  }

  /** Unlinks the ring and every side segment still named after it (creator's exit). */
  destroy(): void {
    created.delete(this);
    unlinkRingSegments(this.name);
  }

  /**
   * Publishes `data` as one message if there is room now; false if not.
   * With a `tag` (a byte; -1 for none) the payload is the tag, padding up to
   * {@link TAG_BYTES}, then `data`. The payload is written straight into
   * the ring (no staging copy). Messages above {@link inlineLimit} are first
   * written to their own segment (outside any shared state), then only its
   * name is published.
   */
  tryPut(data: Uint8Array, tag = -1): boolean {
    const extra = tag >= 0 ? TAG_BYTES : 0;
    const length = data.length + extra;
    if (length > this.inlineLimit) return this.tryPutLarge(data, tag);
    let off = this.reserve(length, length);
    if (off < 0 && this.reclaim(true)) off = this.reserve(length, length);
    if (off < 0) return false;
    const at = off + REC;
    if (extra) this.bytes[at] = tag;
    // The record is reserved for us alone, so a plain memcpy is safe (see copyBytes).
    if (data.length > 0) copyBytes(this.bytes, at + extra, data, 0, data.length);
    this.commit(off);
    return true;
  }

  private largeNames = 0;
  private pendingLarge: { data: Uint8Array; descriptor: Buffer } | null = null;

  private tryPutLarge(data: Uint8Array, tag: number): boolean {
    // A caller that waits for space retries with the same data: reuse the
    // segment written on the first try instead of copying again.
    let pending = this.pendingLarge;
    if (pending?.data !== data) {
      this.abandonPut();
      const name = `${this.name}.${process.pid}.${++this.largeNames}`;
      const length = writeSideSegment(name, data, tag, TAG_BYTES);
      pending = this.pendingLarge = { data, descriptor: Buffer.from(`${name}\n${length}`) };
    }
    const descriptor = pending.descriptor;
    let off = this.reserve(descriptor.length, descriptor.length | LARGE);
    if (off < 0 && this.reclaim(true)) off = this.reserve(descriptor.length, descriptor.length | LARGE);
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

  /**
   * FREE as last read by this process, and TAIL then. FREE only grows, so an
   * old value understates the room: a record that fits by it fits, and the
   * producer need not read FREE's cache line (written by consumers) per message.
   */
  private knownFree = 0;
  private knownFreeAtTail = 0;

  /**
   * Whether `need` bytes at `tail` fit by knownFree. Trusted only while TAIL
   * has moved less than a ring's length since it was read: then tail - knownFree
   * is at most twice the capacity, far from where 32-bit positions wrap.
   */
  private fitsKnownFree(tail: number, need: number): boolean {
    if ((tail - this.knownFreeAtTail) >>> 0 > this.capacity) return false;
    return ((tail - this.knownFree) | 0) + need < this.capacity;
  }

  /** Reserves a record for `length` payload bytes; its offset, or -1 if the ring lacks room. */
  private reserve(length: number, meta: number): number {
    const { i32 } = this;
    const total = REC + align16(length);
    for (;;) {
      const tail = Atomics.load(i32, TAIL);
      let off = tail & this.mask;
      const contiguous = this.capacity - off;
      const need = total <= contiguous ? total : contiguous + total;
      if (!this.fitsKnownFree(tail, need)) {
        this.knownFree = Atomics.load(i32, FREE);
        this.knownFreeAtTail = tail;
        if (((tail - this.knownFree) | 0) + need >= this.capacity) return -1;
      }
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
    wakeCounted(i32, DATA_SEQ, DATA_SEQ + 1, Infinity);
  }

  /**
   * Takes the next published message and returns `read(payload)`, or
   * NOTHING if none is ready. `payload` is a view into shared memory, valid
   * only during `read`. If `read` throws, the message is still consumed.
   */
  tryTake<T>(read: (payload: Buffer) => T): T | typeof NOTHING {
    const { i32 } = this;
    for (;;) {
      // No TAIL check (its cache line is the producers'): see NEVER_FULL.
      const head = Atomics.load(i32, HEAD);
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
      Atomics.add(i32, TAKES, 1);
      try {
        const length = meta & ~LARGE;
        const view = Buffer.from(this.buffer, HEADER_BYTES + off + REC, length);
        return meta & LARGE ? readSideSegment(view.toString(), read) : read(view);
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
      const at = (HEADER_BYTES + (head & this.mask)) >> 2;
      const state = Atomics.load(i32, at);
      if (state !== S_PAD) return state === S_COMMITTED;
      // Step over the PAD so the answer is about the record after it.
      if (Atomics.compareExchange(i32, HEAD, head, (head + i32[at + 1]!) | 0) === head) this.release(head & this.mask);
    }
  }

  /**
   * Marks a claimed record consumed, and reclaims. Before its space is
   * reused, the state word of each of its 16-byte blocks must be zeroed (any
   * of them may start a later record); nothing else of a record is read
   * before its state says it was written. A small record is zeroed here
   * (DONE). A large one is left DIRTY for a producer to zero when it needs
   * the room: producers mostly wait for consumers, who also copy the message
   * out, so this moves ~60 µs per MiB off the busier side.
   */
  private release(off: number): void {
    const { i32 } = this;
    const at = (HEADER_BYTES + off) >> 2;
    const end = at + (i32[at + 1]! >> 2);
    if (end - at > ZERO_LOOP_WORDS) {
      Atomics.store(i32, at, S_DIRTY);
      this.reclaim(false, true);
      return;
    }
    for (let i = at + 4; i < end; i += 4) i32[i] = 0;
    Atomics.store(i32, at, S_DONE);
    this.reclaim(false);
  }

  /**
   * Zeroes a large record's payload, which only its claimant touches:
   * Uint8Array.fill is element-wise on shared memory (~0.5 ms per MiB), memset is not.
   */
  private zeroPayload(off: number, size: number): void {
    zeroBytes(this.bytes, off + REC, size - REC);
  }

  /**
   * Advances FREE over DONE records (and DIRTY ones if `zeroDirty`, zeroing
   * them first); the store order makes one of two racing releasers see the
   * other. A DIRTY record is claimed by putting -pid in its state, so only
   * one process zeroes it (a late zero could hit a new record) and a zeroer
   * killed midway is seen by recover(). Returns whether FREE moved.
   */
  private reclaim(zeroDirty: boolean, leftDirty = false): boolean {
    const { i32 } = this;
    let freed = false;
    for (;;) {
      const free = Atomics.load(i32, FREE);
      if (free === Atomics.load(i32, HEAD)) break;
      const off = free & this.mask;
      const at = (HEADER_BYTES + off) >> 2;
      if (zeroDirty && Atomics.compareExchange(i32, at, S_DIRTY, -process.pid) === S_DIRTY) {
        const size = i32[at + 1]!;
        this.zeroPayload(off, size);
        Atomics.store(i32, at + 1, 0);
        Atomics.store(i32, at, S_EMPTY);
        Atomics.store(i32, FREE, (free + size) | 0);
        freed = true;
        continue;
      }
      if (Atomics.compareExchange(i32, at, S_DONE, S_EMPTY) !== S_DONE) break;
      const size = i32[at + 1]!;
      Atomics.store(i32, at + 1, 0);
      Atomics.store(i32, FREE, (free + size) | 0);
      freed = true;
    }
    // A taken item also frees a slot of a bounded Queue even when no bytes
    // could be reclaimed yet, and a DIRTY record is room a producer can
    // zero: wake space waiters (and spinners) in those cases too.
    if (freed || leftDirty || Atomics.load(i32, SPACE_SEQ + 1) > 0) {
      Atomics.add(i32, SPACE_SEQ, 1);
      wakeCounted(i32, SPACE_SEQ, SPACE_SEQ + 1, Infinity);
    }
    return freed;
  }

  /**
   * Repairs what a killed process left behind; waiters call it when a wait
   * drags on. A record still WRITING at HEAD whose producer is dead is
   * skipped (its message was never published); a record CLAIMED at FREE
   * whose consumer is dead is freed (its message died with the consumer); a
   * record whose zeroer died midway is DIRTY again.
   */
  recover(): void {
    const { i32 } = this;
    const head = Atomics.load(i32, HEAD);
    if (head !== Atomics.load(i32, TAIL)) {
      const off = head & this.mask;
      const at = (HEADER_BYTES + off) >> 2;
      if (Atomics.load(i32, at) === S_WRITING && !pidAlive(i32[at + 2]!)) {
        if (Atomics.compareExchange(i32, HEAD, head, (head + i32[at + 1]!) | 0) === head) {
          Atomics.add(i32, TAKES, 1);
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
      const state = Atomics.load(i32, at);
      if (state === S_CLAIMED && !pidAlive(i32[at + 2]!)) {
        if (Atomics.compareExchange(i32, at, S_CLAIMED, S_WRITING) === S_CLAIMED) this.release(off);
      } else if (state < 0 && !pidAlive(-state)) {
        Atomics.compareExchange(i32, at, state, S_DIRTY);
      }
    }
  }
}
