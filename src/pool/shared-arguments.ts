/**
 * Zero-copy large arrays, as joblib's memmapping: a TypedArray, DataView or
 * Buffer of at least 1 MiB given as a task argument or map item is copied
 * once into a shared memory segment, and every task of the pool reads that
 * segment instead of receiving its own copy. The same array object given to
 * 10,000 tasks is copied once (the pool remembers it until it is joined or
 * terminated, so later changes to the caller's array are not seen: pass a
 * SharedArray or SharedMemory to share on purpose, writes and all).
 *
 * Workers map the copy read-only, as joblib's default mmap_mode 'r': a task
 * that writes to it dies with SIGSEGV (JavaScript has no read-only typed
 * array, so the write faults), after a line on stderr that says why; its
 * task fails with the worker's death and the pool carries on.
 */
import { randomBytes } from 'node:crypto';
import { createSegment, openSegment, setReadOnlyWriteMessage, unlinkSegment } from '../platform/native.ts';
import { registerSegment, unregisterSegment } from '../platform/resource-tracker.ts';
import { reduceForTransfer, type ReducedShareable, type Shareable } from '../transfer/shareable.ts';

/** Arrays at least this large (bytes) travel through shared memory. */
export const ZERO_COPY_MIN_BYTES = 1 << 20;

/** The kind a shared argument crosses as (registered in shareable-kinds.ts). */
export const SHARED_ARGUMENT_KIND = 'multiproc.pool.SharedArgument';

/** Typed array classes a shared argument can be rebuilt as, by name. */
const VIEW_CLASSES: Record<string, new (buffer: SharedArrayBuffer, offset: number, length: number) => ArrayBufferView> = {
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
  DataView: DataView as never,
};

/** What a shared argument carries to the worker. */
export interface SharedArgumentState {
  /** POSIX segment name; the segment's own prefix tells which pool process made it. */
  name: string;
  type: string;
  /** Elements for typed arrays, bytes for DataView and Buffer. */
  length: number;
}

function viewType(view: ArrayBufferView): string | null {
  if (Buffer.isBuffer(view)) return 'Buffer';
  const name = view.constructor?.name;
  return name && name in VIEW_CLASSES && view.constructor === VIEW_CLASSES[name] ? name : null;
}

/** Stands for one large array in a task's arguments; crosses as the segment's name. */
class SharedArgument implements Shareable {
  constructor(readonly state: SharedArgumentState) {}
  [reduceForTransfer](): ReducedShareable {
    return { kind: SHARED_ARGUMENT_KIND, state: this.state };
  }
}

/** Worker side: mappings by segment name, dropped by the GC once no task's view uses them. */
const mapped = new Map<string, WeakRef<SharedArrayBuffer>>();

const READ_ONLY_WRITE =
  'multiproc: a pool task wrote to a large array argument, which workers share read-only; ' +
  'pass a SharedArray or SharedMemory to share an array that tasks write to\n';
let messageSet = false;

function attach(name: string): SharedArrayBuffer {
  let buffer = mapped.get(name)?.deref();
  if (!buffer) {
    if (!messageSet) setReadOnlyWriteMessage(READ_ONLY_WRITE);
    messageSet = true;
    buffer = openSegment(name, { readOnly: true });
    mapped.set(name, new WeakRef(buffer));
  }
  return buffer;
}

/** Worker side: the array a shared argument stands for, a view of its segment. */
export function reviveSharedArgument(state: SharedArgumentState): ArrayBufferView {
  const buffer = attach(state.name);
  if (state.type === 'Buffer') return Buffer.from(buffer, 0, state.length);
  return new VIEW_CLASSES[state.type](buffer, 0, state.length);
}

/** The parent's side: which arrays a pool has copied to shared memory, so each is copied once. */
export class SharedArguments {
  private readonly copies = new WeakMap<ArrayBufferView, SharedArgument>();
  private readonly segments = new Set<string>();

  /** `value` itself, or its shared stand-in when it is a large array not already in shared memory. */
  share(value: unknown): unknown {
    if (!ArrayBuffer.isView(value) || value.byteLength < ZERO_COPY_MIN_BYTES) return value;
    // Memory already shared (a SharedArray's view, SharedMemory.buf) is the caller's choice: leave it.
    if (value.buffer instanceof SharedArrayBuffer) return value;
    const type = viewType(value);
    if (type === null) return value;
    let copy = this.copies.get(value);
    if (!copy) {
      const name = `/mp-${process.pid}-arg-${randomBytes(6).toString('hex')}`;
      registerSegment(name);
      const buffer = createSegment(name, value.byteLength);
      new Uint8Array(buffer).set(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
      this.segments.add(name);
      const length = type === 'Buffer' || type === 'DataView' ? value.byteLength : (value as Uint8Array).length;
      copy = new SharedArgument({ name, type, length });
      this.copies.set(value, copy);
    }
    return copy;
  }

  /** Each element of an argument list through share(); the same list when nothing is large. */
  shareAll(args: unknown[]): unknown[] {
    let out: unknown[] | null = null;
    for (let i = 0; i < args.length; i++) {
      const shared = this.share(args[i]);
      if (shared !== args[i]) (out ??= args.slice())[i] = shared;
    }
    return out ?? args;
  }

  /** A map's items with large arrays shared: each item for map, each argument of each item for starmap. */
  shareItems(items: unknown[], star: boolean): unknown[] {
    let out: unknown[] | null = null;
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      const shared = star ? this.shareAll(item as unknown[]) : this.share(item);
      if (shared !== item) (out ??= items.slice())[i] = shared;
    }
    return out ?? items;
  }

  /** Names of the segments made so far (for tests and stats). */
  get segmentNames(): string[] {
    return [...this.segments].map((name) => name.slice(1));
  }

  /** Unlinks every segment; call once no task can need them (the pool joined or terminated). */
  release(): void {
    for (const name of this.segments) {
      try {
        unlinkSegment(name);
      } catch {
        // Already gone: the resource tracker or a second release got there first.
      }
      unregisterSegment(name);
    }
    this.segments.clear();
  }
}
