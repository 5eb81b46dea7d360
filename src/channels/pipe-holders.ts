/**
 * Who holds each end of a pipe direction, counted per process as the OS
 * counts a pipe's file descriptors: an end is closed for its peer once no
 * live process holds a handle of it. A process that dies without closing
 * stops counting (its pid is checked), and a process that still holds a
 * handle keeps the end open even after others that received it have exited.
 *
 * Per end, in the ring's client cells (reserved in shm-ring-cells.ts):
 * [TOTAL] handles counted (a fast "maybe open" check), [OVERFLOW] handles of
 * processes beyond the table (never judged dead: a limit, documented), then
 * SLOTS entries [pid, count]. A handle in transit to another process counts
 * in its sender's entry until the receiver revives it and moves the count to
 * its own entry.
 */
import { pidAlive } from '../platform/owner-liveness.ts';

const TOTAL = 0;
const OVERFLOW = 1;
const TABLE = 2;
const SLOTS = 16;
const RECLAIMING = -1;
/** Cells one end's holder table takes. */
export const END_CELLS = TABLE + SLOTS * 2;
/** A hold() that went to the overflow count instead of a table entry. */
export const IN_OVERFLOW = -1;

/** The holder table of one end of a ring. */
export class EndHolders {
  constructor(
    private readonly i32: Int32Array,
    private readonly base: number,
  ) {}

  /** Counts one more handle held by process `pid`; returns the entry used (or IN_OVERFLOW). */
  hold(pid: number): number {
    const i32 = this.i32;
    let slot = this.#find(pid);
    if (slot < 0) slot = this.#claim(pid);
    if (slot < 0 && this.#reclaimDead()) slot = this.#claim(pid);
    Atomics.add(i32, this.base + TOTAL, 1);
    if (slot < 0) {
      Atomics.add(i32, this.base + OVERFLOW, 1);
      return IN_OVERFLOW;
    }
    Atomics.add(i32, this.#entry(slot) + 1, 1);
    return slot;
  }

  /** Uncounts a handle that `hold(pid)` returned `slot` for; nothing if that entry was since reclaimed (pid dead). */
  release(pid: number, slot: number): void {
    const i32 = this.i32;
    if (slot === IN_OVERFLOW) {
      Atomics.sub(i32, this.base + OVERFLOW, 1);
      Atomics.sub(i32, this.base + TOTAL, 1);
      return;
    }
    const entry = this.#entry(slot);
    for (;;) {
      if (Atomics.load(i32, entry) !== pid) return;
      const count = Atomics.load(i32, entry + 1);
      if (count <= 0) return;
      if (Atomics.compareExchange(i32, entry + 1, count, count - 1) === count) break;
    }
    Atomics.sub(i32, this.base + TOTAL, 1);
  }

  /** Handles counted (no liveness check); 0 means closed. Changes on every hold and release. */
  counted(): number {
    return Atomics.load(this.i32, this.base + TOTAL);
  }

  /** Whether some live process holds a handle of this end. */
  held(): boolean {
    const i32 = this.i32;
    if (Atomics.load(i32, this.base + TOTAL) <= 0) return false;
    if (Atomics.load(i32, this.base + OVERFLOW) > 0) return true;
    for (let slot = 0; slot < SLOTS; slot++) {
      const entry = this.#entry(slot);
      const pid = Atomics.load(i32, entry);
      if (pid > 0 && Atomics.load(i32, entry + 1) > 0 && pidAlive(pid)) return true;
    }
    return false;
  }

  #entry(slot: number): number {
    return this.base + TABLE + slot * 2;
  }

  #find(pid: number): number {
    for (let slot = 0; slot < SLOTS; slot++) if (Atomics.load(this.i32, this.#entry(slot)) === pid) return slot;
    return -1;
  }

  #claim(pid: number): number {
    for (let slot = 0; slot < SLOTS; slot++) {
      if (Atomics.compareExchange(this.i32, this.#entry(slot), 0, pid) === 0) return slot;
    }
    return -1;
  }

  /** Frees the entries of dead processes (their handles died with them); true if any was freed. */
  #reclaimDead(): boolean {
    const i32 = this.i32;
    let freed = false;
    for (let slot = 0; slot < SLOTS; slot++) {
      const entry = this.#entry(slot);
      const pid = Atomics.load(i32, entry);
      if (pid <= 0 || pidAlive(pid)) continue;
      if (Atomics.compareExchange(i32, entry, pid, RECLAIMING) !== pid) continue;
      Atomics.sub(i32, this.base + TOTAL, Atomics.exchange(i32, entry + 1, 0));
      Atomics.store(i32, entry, 0);
      freed = true;
    }
    return freed;
  }
}
