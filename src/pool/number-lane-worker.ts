/**
 * The worker's side of its number lane (number-lane.ts has the parent's):
 * it maps the segment when the parent announces it, reads a chunk's items
 * where the parent copied them, and has its results packed straight into
 * the room after them, telling the parent only their form.
 */
import { InvalidStateError } from '../errors.ts';
import { attachSegment } from '../platform/shared-heap.ts';
import { ChunkResultPacker } from './number-results.ts';
import type { LaneForm, LaneRef } from './pool-protocol.ts';

export class WorkerLane {
  private buffer: SharedArrayBuffer | null = null;
  private failure: unknown = null;

  /** Maps lane `name` (an AttachLane message); a failure is kept for check(), to fail the tasks that need the lane. */
  attach(name: string): void {
    try {
      this.buffer = attachSegment(name);
    } catch (error) {
      this.failure = error;
    }
  }

  /** Throws unless the lane is mapped: called before a batch that uses it runs, so that its tasks fail instead of the worker. */
  check(): void {
    if (this.buffer) return;
    throw this.failure ?? new InvalidStateError('pool worker: a task came in the number lane before the lane was announced');
  }

  /** Chunk `ref`'s items, read in place. */
  items(ref: LaneRef): Int32Array | Float64Array {
    const buffer = this.mapped();
    return ref.form === 'i32' ? new Int32Array(buffer, ref.at, ref.length) : new Float64Array(buffer, ref.at, ref.length);
  }

  /** A packer that writes chunk `ref`'s results into the lane while they are numbers. */
  packer(ref: LaneRef): ChunkResultPacker {
    return new ChunkResultPacker(ref.length, { buffer: this.mapped(), byteOffset: ref.results });
  }

  /** What to send for a chunk's finished results: their form if they are in the lane, else the results themselves. */
  reply(results: ArrayLike<unknown>): unknown {
    if (!ArrayBuffer.isView(results) || results.buffer !== this.buffer) return results;
    const form: LaneForm = results instanceof Int32Array ? 'i32' : 'f64';
    return form;
  }

  private mapped(): SharedArrayBuffer {
    this.check();
    return this.buffer!;
  }
}
