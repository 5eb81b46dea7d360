/**
 * The parent's side of a worker's number lane: a shared memory segment, one
 * per worker, through which packed chunks (number-results.ts) and their
 * packed results travel instead of the control socket. On these VMs a socket
 * costs far more than its bytes suggest: the kernel's buffers and the
 * reader's fresh ones are new pages each time, and a page fault costs
 * ~10 µs; hundreds of KB per map went through serialise, writev, read,
 * merge and deserialise. The lane's pages are faulted in once and reused:
 * a chunk is copied in once, the worker reads it where it is and writes its
 * results next to it, and the parent copies them out once.
 *
 * Regions are taken in the order jobs are sent and a worker finishes its
 * jobs in that order, so the lane is a ring. A chunk that does not fit
 * travels through the socket as before. The worker's side is in
 * pool-worker.ts (it maps the segment by name when told to, and the
 * ChunkResultPacker writes into it).
 */
import { copyBytes, createSegment, unlinkSegment } from '../platform/native.ts';
import { freshSegmentName } from '../platform/shared-heap.ts';
import { registerSegment, unregisterSegment } from '../platform/resource-tracker.ts';
import type { PackedNumbers } from './number-results.ts';
import type { LaneForm, LaneRef } from './pool-protocol.ts';

/** Bytes of one lane: room for a few chunks of ~100k numbers; its pages are only used once touched. */
export const LANE_BYTES = 4 * 1024 * 1024;
/** Below this many numbers a chunk goes through the socket: the copies saved are too few to matter. */
export const LANE_MIN_ITEMS = 256;

interface Region {
  jobId: number;
  start: number;
  end: number;
  released: boolean;
}

export class NumberLane {
  readonly name = freshSegmentName();
  private readonly bytes: Uint8Array;
  /** Live regions in the order they were taken; the first one's start is the ring's tail. */
  private readonly regions: Region[] = [];
  private readonly byJob = new Map<number, Region & { ref: LaneRef }>();
  private head = 0;
  private closed = false;

  /** Throws if the segment cannot be made (/dev/shm full, say); the caller then keeps to the socket. */
  constructor() {
    registerSegment(this.name);
    try {
      this.bytes = new Uint8Array(createSegment(this.name, LANE_BYTES));
    } catch (error) {
      unregisterSegment(this.name);
      throw error;
    }
  }

  /**
   * Copies job `jobId`'s items into the lane, with room after them for as
   * many Float64 results; null when the lane has no room for them now.
   */
  place(jobId: number, items: PackedNumbers): LaneRef | null {
    if (this.closed) return null;
    const length = items.length;
    // Results start 8-aligned: a Float64Array view needs it.
    const itemBytes = (items.byteLength + 7) & ~7;
    const start = this.reserve(itemBytes + length * 8);
    if (start < 0) return null;
    copyBytes(this.bytes, start, new Uint8Array(items.buffer, items.byteOffset, items.byteLength), 0, items.byteLength);
    const ref: LaneRef = { at: start, form: items instanceof Int32Array ? 'i32' : 'f64', length, results: start + itemBytes };
    const region = { jobId, start, end: ref.results + length * 8, released: false, ref };
    this.regions.push(region);
    this.byJob.set(jobId, region);
    return ref;
  }

  /** Whether job `jobId`'s items are in the lane. */
  holds(jobId: number): boolean {
    return this.byJob.has(jobId);
  }

  /**
   * The results the worker wrote for job `jobId`, in `form`: a private copy,
   * or with `lend` a view of the lane, valid until release(jobId).
   */
  results(jobId: number, form: LaneForm, lend = false): PackedNumbers {
    const region = this.byJob.get(jobId)!;
    const { length, results } = region.ref;
    if (lend) return form === 'i32' ? new Int32Array(this.bytes.buffer, results, length) : new Float64Array(this.bytes.buffer, results, length);
    const out = form === 'i32' ? new Int32Array(length) : new Float64Array(length);
    copyBytes(new Uint8Array(out.buffer), 0, this.bytes, results, out.byteLength);
    return out;
  }

  /** Frees job `jobId`'s region once the worker is done with it (its results or error arrived). */
  release(jobId: number): void {
    const region = this.byJob.get(jobId);
    if (!region) return;
    this.byJob.delete(jobId);
    region.released = true;
    while (this.regions.length > 0 && this.regions[0]!.released) this.regions.shift();
    if (this.regions.length === 0) this.head = 0;
  }

  /** Unlinks the segment once the worker has exited; its regions are gone with it. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.byJob.clear();
    this.regions.length = 0;
    try {
      unlinkSegment(this.name);
    } catch {
      // Already gone: the resource tracker got there first.
    }
    unregisterSegment(this.name);
  }

  /** The start of `size` free bytes after the ring's head, wrapping to 0; -1 if there is no room. */
  private reserve(size: number): number {
    if (this.regions.length === 0) this.head = 0;
    const tail = this.regions.length > 0 ? this.regions[0]!.start : 0;
    // Not wrapped (head past tail, or empty): room up to the end, else from 0 up to the tail.
    // Wrapped: room up to the tail. Head never reaches a live tail, so head === tail means empty.
    if (this.head >= tail) {
      if (this.head + size <= this.bytes.length) return this.take(size);
      if (size < tail) {
        this.head = 0;
        return this.take(size);
      }
      return -1;
    }
    return this.head + size < tail ? this.take(size) : -1;
  }

  private take(size: number): number {
    const start = this.head;
    this.head += size;
    return start;
  }
}
