/**
 * Side segments: a ring message too large to store inline is written to a
 * shared-memory segment of its own, and only the segment's name travels in
 * the ring (see ShmRing.tryPut). The reader unlinks it as soon as it maps it.
 */
import { readdirSync } from 'node:fs';
import { createSegment, openSegment, unlinkSegment } from '../platform/native.ts';
import { unregisterSegment } from '../platform/resource-tracker.ts';

let counter = 0;
/** A fresh ring name, unique machine-wide: side segments are named after their ring. */
export function newRingName(): string {
  return `/mpq-${process.pid}-${(++counter).toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Unlinks ring `name` and every side segment still named after it (its creator's exit). */
export function unlinkRingSegments(name: string): void {
  const prefix = `${name.slice(1)}.`;
  try {
    for (const entry of readdirSync('/dev/shm')) if (entry.startsWith(prefix)) unlinkQuietly(`/${entry}`);
  } catch {
    // No /dev/shm listing (not Linux): side segments were unlinked by their readers.
  }
  unlinkQuietly(name);
  unregisterSegment(name);
}

/**
 * Creates segment `name` holding `tag` (a byte; -1 for none) padded to
 * `tagBytes`, then `data`; returns the payload length. Written outside any
 * shared state, so a writer killed midway leaves only a segment that its
 * ring's creator unlinks at exit.
 */
export function writeSideSegment(name: string, data: Uint8Array, tag: number, tagBytes: number): number {
  const extra = tag >= 0 ? tagBytes : 0;
  const segment = new Uint8Array(createSegment(name, Math.max(1, data.length + extra)));
  if (extra) segment[0] = tag;
  segment.set(data, extra);
  return data.length + extra;
}

/** Maps the segment named by `descriptor` ("name\nlength"), unlinks it, and returns `read(payload)`. */
export function readSideSegment<T>(descriptor: string, read: (payload: Buffer) => T): T {
  const [name, length] = descriptor.split('\n') as [string, string];
  const segment = openSegment(name);
  // Unlink at once: the mapping stays valid, and nothing can leak after this.
  unlinkQuietly(name);
  return read(Buffer.from(segment, 0, Number(length)));
}

/** shm_unlink, ignoring a segment already gone. */
export function unlinkQuietly(name: string): void {
  try {
    unlinkSegment(name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}
