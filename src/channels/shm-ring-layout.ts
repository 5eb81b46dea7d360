/**
 * The layout of a ring's shared-memory segment (see shm-ring.ts for the
 * protocol): header cells, record header and states. Kept apart so that the
 * ring's protocol file reads as algorithm only.
 */

/**
 * Header cells (Int32 indices). Each group written by one side sits on a
 * 64-byte cache line of its own: a line written by both the producing and
 * the consuming process moves between their cores on every message.
 */
export const TAIL = 0;
export const HEAD = 16;
export const FREE = 32;
/** Bumped after every commit (futex word for "data may be ready"); DATA_SEQ + 1 counts waiters. */
export const DATA_SEQ = 48;
/** Bumped after space is freed (futex word for "space may be free"); SPACE_SEQ + 1 counts waiters. */
export const SPACE_SEQ = 64;
/** Messages ever put (counted by Queue, before publishing) and taken; their difference is Queue's qsize. */
export const PUTS = 80;
export const TAKES = 96;
export const CAPACITY = 112;
export const MAGIC_CELL = 113;
/**
 * Cells from CLIENT_CELLS to the end of the header belong to the ring's one
 * client (a queue, or one direction of a pipe); shm-ring-cells.ts reserves
 * them per client and is the only code that touches them.
 */
export const CLIENT_CELLS = 128;

export const HEADER_BYTES = 1024;
export const REC = 16;
export const MAGIC = 0x6d707174; // 'mpqt' (the header grew: a ring of another build is refused)

export const S_EMPTY = 0;
export const S_WRITING = 1;
export const S_COMMITTED = 2;
export const S_PAD = 3;
export const S_CLAIMED = 4;
export const S_DONE = 5;
/** Consumed but not yet zeroed (large records: producers zero them when they need the room). */
export const S_DIRTY = 6;
// A negative state is -pid of the process zeroing a DIRTY record (see reclaim).
/** meta bit: the payload names a side segment holding the message. */
export const LARGE = 0x40000000;

/**
 * Bytes before the data of a tagged payload: the tag and padding that keeps
 * the data 8-byte aligned. V8 copies to and from shared memory word by word
 * only when both sides are aligned alike, otherwise byte by byte (~8x slower).
 */
export const TAG_BYTES = 8;

/** Returned by {@link ShmRing.tryTake} when no published record is at HEAD. */
export const NOTHING: unique symbol = Symbol('nothing');
