/**
 * The layout of a manager lane: a shared-memory mailbox beside a local
 * (Unix socket) manager connection, through which one call at a time
 * travels without a syscall while both sides are polling. The client
 * process creates the segment, the server maps it after authentication,
 * and the client unlinks the name as soon as the server has it, so the
 * segment lives exactly as long as the two mappings.
 *
 * The connection's socket stays the authority: it carries everything the
 * lane does not (big messages, calls made while another is in flight,
 * notifications), and it is the doorbell in both directions, so a side
 * that stopped polling sleeps in its event loop (or in a blocking recv),
 * never in a futex that a dead peer could leave unwoken: when either
 * process dies, its socket end closes and the other side learns it at once.
 *
 * Mailbox protocol (one request, then its reply; seq counts lane requests):
 * - client: writes the request body, REQ_LEN, then REQ_SEQ = seq (publish);
 *   then, if SERVER_AWAKE reads 0, rings the doorbell (an empty socket frame).
 * - server: sees REQ_SEQ move, copies the body out, runs the call; writes the
 *   reply body, REP_LEN (REPLY_ON_SOCKET if it went through the socket), then
 *   REP_SEQ = seq; then, if CLIENT_PARKED reads 1, rings the client's doorbell.
 * Each side stores its flag or sequence and then loads the other's (all
 * Atomics, sequentially consistent), so a doorbell is never missed: at least
 * one side sees the other's store. Spurious doorbells are harmless.
 */

/** Int32 cells. Each side's cells sit on a 64-byte line of their own. */
export const MAGIC_CELL = 0;
export const CAPACITY_CELL = 1;
/** 8 cells of random bytes the client writes and repeats in its lane request: proof the segment is the one it made. */
export const NONCE_CELL = 2;
export const NONCE_CELLS = 8;

/** Written by the client. */
export const REQ_SEQ = 16;
export const REQ_LEN = 17;
/** 1 while the client waits for the doorbell rather than polling REP_SEQ. */
export const CLIENT_PARKED = 18;

/** Written by the server. */
export const REP_SEQ = 32;
export const REP_LEN = 33;
/** 1 while the server polls its lanes; 0: a client must ring the doorbell. */
export const SERVER_AWAKE = 34;

export const HEADER_BYTES = 256;
export const MAGIC = 0x6d706c6e; // 'mpln'

/** REP_LEN of a reply that went through the socket (too big for the mailbox). */
export const REPLY_ON_SOCKET = -1;

/** Bytes of each of the request and reply areas: bigger messages take the socket. */
export const LANE_CAPACITY = 32 * 1024;

export const SEGMENT_BYTES = HEADER_BYTES + 2 * LANE_CAPACITY;
export const REQUEST_AREA = HEADER_BYTES;
export const REPLY_AREA = HEADER_BYTES + LANE_CAPACITY;

/** Lane segment names: the server maps nothing else. */
export const LANE_NAME = /^\/multiproc-lane-[0-9a-f-]{36}$/;

/**
 * Polling bounds (microseconds), the price of a round trip without a
 * wake-up (spin.ts says when a side polls at all: only while it pays):
 * - the server, after its last request, keeps polling for SERVER_IDLE_US,
 *   its lanes in slices of at most SERVER_SLICE_US that block its event
 *   loop, with a turn of the loop between slices (which polls the sockets);
 *   then it sleeps, and an idle manager burns no CPU;
 * - a Sync call spins up to SYNC_SPIN_US for its reply (the thread is
 *   blocked anyway), then sleeps in recv on the socket until the doorbell
 *   or the reply;
 * - a Promise call checks its lane for at most ASYNC_SPIN_US before
 *   returning its promise (the only time it blocks the event loop), then
 *   on every turn of the loop until ASYNC_POLL_US have passed, then waits
 *   for the doorbell on the socket. (Keeping the loop turning for a socket
 *   call's reply was measured to gain nothing; a connection without a lane
 *   reads its descriptor instead, see socket-spin.ts.)
 */
export const SERVER_IDLE_US = 200;
export const SERVER_SLICE_US = 20;
export const SYNC_SPIN_US = 200;
export const ASYNC_SPIN_US = 20;
export const ASYNC_POLL_US = 200;

/** The doorbell: an empty frame (a 4-byte zero length), which no request or reply ever is. */
export const DOORBELL = Buffer.alloc(4);
