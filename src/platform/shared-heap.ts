/**
 * Shared memory for the library's small objects (locks, values, ...).
 *
 * One segment per lock would cost a 4 KiB page and a file each, so small
 * blocks are carved out of per-process 64 KiB slabs (bump allocation, never
 * freed: the resource tracker unlinks the slabs when the program ends, and a
 * child may still need to attach to any block by name until then). Large
 * blocks get their own segment. A block crosses into other processes as
 * (segment name, offset); attach() maps each segment once per JS thread.
 */
import { randomBytes } from 'node:crypto';
import { createSegment, openSegment } from './native.ts';
import { registerSegment } from './resource-tracker.ts';

const SLAB_BYTES = 64 * 1024;
const LARGE_BYTES = SLAB_BYTES / 4;

/** A block of shared memory: a segment, and a byte range in it. */
export interface SharedBlock {
  name: string;
  offset: number;
  buffer: SharedArrayBuffer;
}

const mapped = new Map<string, SharedArrayBuffer>();
let slab: { name: string; buffer: SharedArrayBuffer; used: number } | undefined;

/** A fresh POSIX segment name for this process: /mp-<pid>-<random>. */
export function freshSegmentName(): string {
  return `/mp-${process.pid}-${randomBytes(8).toString('hex')}`;
}

/** Creates a tracked segment with a fresh name. */
export function createTrackedSegment(size: number): { name: string; buffer: SharedArrayBuffer } {
  const name = freshSegmentName();
  registerSegment(name);
  const buffer = createSegment(name, size);
  mapped.set(name, buffer);
  return { name, buffer };
}

/** Allocates `size` zeroed bytes aligned to `align` (a power of two, at most 64). */
export function allocateBlock(size: number, align = 8): SharedBlock {
  if (size > LARGE_BYTES) {
    const { name, buffer } = createTrackedSegment(size);
    return { name, offset: 0, buffer };
  }
  let offset = slab === undefined ? 0 : (slab.used + align - 1) & ~(align - 1);
  if (slab === undefined || offset + size > SLAB_BYTES) {
    slab = { ...createTrackedSegment(SLAB_BYTES), used: 0 };
    offset = 0;
  }
  slab.used = offset + size;
  return { name: slab.name, offset, buffer: slab.buffer };
}

/** Maps a segment by name, once per JS thread. */
export function attachSegment(name: string): SharedArrayBuffer {
  let buffer = mapped.get(name);
  if (buffer === undefined) {
    buffer = openSegment(name);
    mapped.set(name, buffer);
  }
  return buffer;
}

/** The reduced form of a block, for reduceForTransfer states. */
export interface BlockRef {
  name: string;
  offset: number;
}

/** Re-attaches a block described by a BlockRef. */
export function attachBlock(ref: BlockRef): SharedBlock {
  if (typeof ref?.name !== 'string' || !Number.isInteger(ref.offset)) {
    throw new TypeError('a shared block reference must be { name: string, offset: integer }');
  }
  return { name: ref.name, offset: ref.offset, buffer: attachSegment(ref.name) };
}
