/**
 * fork() copies a mapping's page-table entries only when the mapping holds
 * anonymous pages; for one that is just a file (Node's code and read-only
 * data, its libraries'), the child finds no entries and faults in every page
 * it touches again, even though the file is in memory. That was ~185 of a
 * no-op forked child's ~490 page faults, and a fault costs 10–30 µs on some
 * machines. Writing one byte of such a mapping, the byte it already holds,
 * through /proc/self/mem gives the mapping an anonymous page (the way a
 * debugger's breakpoint does, without changing its protection), and from
 * then on every fork() copies its entries: one private page per mapping,
 * against a few hundred faults per child.
 *
 * Copying those entries makes every fork() slower, though (~1 ms more for a
 * 100 MB Node), so it pays only where faults are dear. Measured with a
 * fork-ready program: where a first-touch fault of fresh memory costs
 * 10–30 µs (a paravirtualized guest) copying won; where it costs 2–3 µs (a
 * KVM guest) it lost (8 processes started together 24 → 31 ms, a cold
 * Pool(8) 73 → 87 ms). So the process measures its faults first.
 */
import { closeSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import { firstTouchFaultNanos } from '../platform/native.ts';

/** "start-end perms offset dev inode path" of /proc/self/maps. */
const MAPPING = /^([0-9a-f]+)-[0-9a-f]+ (\S{4}) \S+ \S+ (\d+) +(\S.*)$/;

let done = false;

/** Faults dearer than this (first touch of fresh memory, in ns) make the copy pay: between the two machines measured. */
const DEAR_FAULT_NANOS = 6_000;

/**
 * Whether to give code mappings their anonymous page: MULTIPROC_COPY_CODE_MAPPINGS
 * '1' or '0' decides; otherwise, whether a fault here costs more than DEAR_FAULT_NANOS.
 */
export function copyingCodeMappingsPays(setting: string | undefined, faultNanos: () => number | null): boolean {
  if (setting === '1') return true;
  if (setting === '0') return false;
  // Dear only if three rounds say so: one the scheduler interrupted would make faults look dear.
  // A cheap round settles it at once, as does having no memory to measure with.
  for (let round = 0; round < 3; round++) {
    if ((faultNanos() ?? 0) <= DEAR_FAULT_NANOS) return false;
  }
  return true;
}

/**
 * Gives each read-only, private, file-backed mapping of this process an
 * anonymous page, once per process, where that pays (copyingCodeMappingsPays);
 * returns how many mappings got one.
 * Does nothing (0) where /proc/self/mem cannot be written (a kernel built or
 * booted to refuse it): children then fault those pages in, as before.
 */
export function letForksCopyCodeMappings(): number {
  if (done) return 0;
  done = true;
  if (!copyingCodeMappingsPays(process.env.MULTIPROC_COPY_CODE_MAPPINGS, firstTouchFaultNanos)) return 0;
  let mem: number;
  try {
    mem = openSync('/proc/self/mem', 'r+');
  } catch {
    return 0;
  }
  const byte = Buffer.alloc(1);
  let given = 0;
  try {
    for (const line of readFileSync('/proc/self/maps', 'utf8').split('\n')) {
      const mapping = MAPPING.exec(line);
      // Readable, never writable (its bytes cannot change under us), private, backed by a file (inode):
      // code and read-only data, not the inaccessible gaps between a library's segments.
      const perms = mapping?.[2];
      if (!mapping || perms![0] !== 'r' || perms![1] === 'w' || perms![3] !== 'p' || mapping[3] === '0') continue;
      const start = parseInt(mapping[1]!, 16);
      try {
        if (readSync(mem, byte, 0, 1, start) === 1 && writeSync(mem, byte, 0, 1, start) === 1) given++;
      } catch {
        // Refused for this mapping (or the kernel refuses writes here at all): it stays as it was.
      }
    }
  } finally {
    closeSync(mem);
  }
  return given;
}
