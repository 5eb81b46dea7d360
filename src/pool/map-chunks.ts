/**
 * How map-like calls cut their input into chunks and prepare each chunk
 * for a worker. Shared by Pool, ProcessPoolExecutor and the cluster pool.
 */
import { encodeForTransfer } from '../transfer/shareable.ts';
import { isPrimitive } from './pool-protocol.ts';
import { packNumbers } from './number-results.ts';

/** Python's default: ceil(n / (4 × workers)), at least 1. */
export function defaultChunksize(n: number, workers: number): number {
  return Math.max(1, Math.ceil(n / (workers * 4)));
}

/** Encodes a chunk for the worker; when that fails, finds and names the exact bad item. */
export function encodeChunk(chunk: unknown[], start: number, name: string): unknown[] {
  if (ArrayBuffer.isView(chunk) || chunk.every(isPrimitive)) return chunk;
  try {
    return encodeForTransfer(chunk, name) as unknown[];
  } catch {
    return chunk.map((item, i) => encodeForTransfer(item, `${name}[${start + i}]`));
  }
}

/**
 * Items [start, end) of a map, ready for a worker: packed when all are
 * numbers (number-results.ts; numbers need no sharing nor encoding), else
 * passed through `share` (large arrays to shared memory) and encoded.
 */
export function prepareChunk(list: unknown[], start: number, end: number, share: (items: unknown[]) => unknown[], name: string): unknown[] {
  const packed = packNumbers(list, start, end);
  if (packed) return packed as unknown as unknown[];
  return encodeChunk(share(list.slice(start, end)), start, name);
}

