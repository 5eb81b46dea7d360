/**
 * How map-like calls cut their input into chunks, prepare each chunk for a
 * worker, and put a map's results back together. Shared by Pool,
 * ProcessPoolExecutor and the cluster pool.
 */
import { encodeForTransfer } from '../transfer/shareable.ts';
import { isPrimitive, type ChunkResults } from './pool-protocol.ts';
import { packNumbers, type PackTarget } from './number-results.ts';

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
 * numbers (number-results.ts; numbers need no sharing nor encoding), into
 * `space` (8 bytes per item of the whole list) if given, else passed through
 * `share` (large arrays to shared memory) and encoded.
 */
export function prepareChunk(
  list: unknown[],
  start: number,
  end: number,
  share: (items: unknown[]) => unknown[],
  name: string,
  space: ArrayBuffer | null = null,
): unknown[] {
  const target: PackTarget | null = space ? { buffer: space, byteOffset: start * 8 } : null;
  const packed = packNumbers(list, start, end, target);
  if (packed) return packed as unknown as unknown[];
  return encodeChunk(share(list.slice(start, end)), start, name);
}

/**
 * A map's result array, filled chunk by chunk as results arrive, so only the
 * last chunk's copy waits at the end. It is made once the chunks are sent
 * (prepare()), or at the first arrival, not when the map is called: a large
 * array costs milliseconds of fresh memory pages, which then overlap the
 * workers' work instead of delaying the first chunk's send. Presized without
 * fill(): filling first would double the cost, and every hole is written
 * before the array is handed out.
 */
export class MapResults<R> {
  private values: R[] | null = null;

  constructor(
    private readonly length: number,
    private readonly chunksize: number,
  ) {}

  /** Makes the array now, while there is nothing else to do. */
  prepare(): void {
    this.values ??= new Array<R>(this.length);
  }

  /** Copies in chunk `index`'s results. */
  add(index: number, results: ChunkResults): void {
    const values = (this.values ??= new Array<R>(this.length));
    for (let i = 0, k = index * this.chunksize; i < results.length; i++, k++) values[k] = results[i] as R;
  }

  /** The whole array, once every chunk was added. */
  get array(): R[] {
    return this.values ?? [];
  }
}
