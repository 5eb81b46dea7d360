/**
 * SharedMemory, like multiprocessing.shared_memory.SharedMemory: a named
 * POSIX segment any process can attach to by name.
 */
import { createSegment, openSegment, unlinkSegment } from '../platform/native.ts';
import { freshSegmentName } from '../platform/shared-heap.ts';
import { registerSegment, unregisterSegment } from '../platform/resource-tracker.ts';
import { reduceForTransfer, revive, type ReducedShareable, type Shareable } from '../transfer/shareable.ts';
import { InvalidStateError } from '../errors.ts';

/** Options of SharedMemory. */
export interface SharedMemoryOptions {
  /** Segment name, with or without the leading '/'; generated when creating without one. */
  name?: string;
  /** Create a new segment (true) or attach to an existing one (false, default). */
  create?: boolean;
  /** Size in bytes of a new segment; ignored when attaching (the whole segment is mapped). */
  size?: number;
}

function errnoError(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

/**
 * A block of shared memory. The creator registers it with the resource
 * tracker, so it is unlinked when the program ends even if nobody calls
 * unlink(); attaching does not register it.
 */
export class SharedMemory implements Shareable {
  private readonly posixName: string;
  private buffer: Uint8Array | undefined;
  /** Size of the mapping in bytes. */
  readonly size: number;

  constructor(options: SharedMemoryOptions = {}) {
    if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
    const { name, create = false, size = 0 } = options;
    if (typeof create !== 'boolean') throw new TypeError(`options.create must be a boolean (got ${String(create)})`);
    if (typeof size !== 'number' || !Number.isInteger(size) || size < 0) {
      throw new RangeError("'size' must be a positive integer");
    }
    if (name !== undefined && typeof name !== 'string') throw new TypeError('options.name must be a string');
    if (create && size === 0) throw new RangeError("'size' must be a positive number different from zero");
    if (!create && name === undefined) throw new TypeError("'name' can only be undefined if create is true");
    this.posixName = name === undefined ? freshSegmentName() : name.startsWith('/') ? name : `/${name}`;
    let sab: SharedArrayBuffer;
    if (create) {
      const registered = registerSegment(this.posixName);
      try {
        sab = createSegment(this.posixName, size);
      } catch (error) {
        if (registered) unregisterSegment(this.posixName);
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
          throw errnoError(`File exists: '${this.posixName}'`, 'EEXIST');
        }
        throw error;
      }
    } else {
      try {
        sab = openSegment(this.posixName);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
          throw errnoError(`No such file or directory: '${this.posixName}'`, 'ENOENT');
        }
        throw error;
      }
    }
    this.buffer = new Uint8Array(sab);
    this.size = sab.byteLength;
  }

  /** The segment's name, without the leading '/' (as Python reports it). */
  get name(): string {
    return this.posixName.slice(1);
  }

  /** The memory, as bytes. Throws after close(). */
  get buf(): Uint8Array {
    if (this.buffer === undefined) throw new InvalidStateError('SharedMemory is closed');
    return this.buffer;
  }

  /** Stops using the memory from this object; the mapping goes once nothing else references buf. */
  close(): void {
    this.buffer = undefined;
  }

  /** Removes the segment's name; mappings stay usable until closed. Call once, from one process. */
  unlink(): void {
    unlinkSegment(this.posixName);
    unregisterSegment(this.posixName);
  }

  /** @internal Rebuilds a SharedMemory sent by another process: it attaches to the segment, as `new SharedMemory({ name })` does. */
  static [revive](state: { name: string }): SharedMemory {
    return new SharedMemory({ name: state.name });
  }

  /** Attaches to the same segment in another process. */
  [reduceForTransfer](): ReducedShareable {
    return { kind: 'multiproc.SharedMemory', state: { name: this.posixName } };
  }
}
