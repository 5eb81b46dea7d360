/**
 * The descriptors the program gives its forkserver zygote (see
 * src/process/zygote.ts, which opens them in this order).
 */

/** The control channel: start requests in, the zygote's replies out. */
export const CHANNEL_FD = 3;
/** Carries each child's channel fd from the program and the child's pid back. */
export const FD_SOCKET = 4;
/** Where the exit-report thread writes each child's exit for the program. */
export const EXIT_REPORTS_FD = 5;
