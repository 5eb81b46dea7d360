/**
 * Identifies lock owners across processes and tells whether one died.
 *
 * An owner is a kernel thread id (tid): unique machine-wide while the thread
 * lives, so it names a JS thread in any process or worker. A bare tid can be
 * reused after its thread dies, so the owner's start time (field 22 of
 * /proc/<tid>/stat, clock ticks since boot) is recorded beside it: a tid that
 * is alive but started at another time is a different thread.
 */
import { readFileSync } from 'node:fs';
import { currentThreadId } from './native.ts';

/** The calling thread's identity as stored in shared memory. */
export interface OwnerIdentity {
  tid: number;
  /** Start time in clock ticks, truncated to int32 so it fits a cell. */
  start: number;
}

let self: OwnerIdentity | undefined;

/** The calling JS thread's identity (cached: it never changes for a thread). */
export function currentOwner(): OwnerIdentity {
  if (self === undefined) {
    const tid = currentThreadId();
    const start = readStartTime(tid);
    if (start === undefined) throw new Error(`cannot read /proc/${tid}/stat for the calling thread`);
    self = { tid, start };
  }
  return self;
}

/** Start time of a live thread, or undefined if it is gone (or a zombie). */
export function readStartTime(tid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${tid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  // The command name (field 2) may contain spaces and parentheses: fields
  // are counted from the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  if (state === 'Z' || state === 'X' || state === 'x') return undefined;
  return Number(fields[19]) | 0;
}

/**
 * Liveness of a recorded owner: 'dead' if its tid is gone, 'mismatch' if the
 * tid lives but started at another time than recorded (reused tid, or an
 * owner that has not written its start time yet — callers confirm a
 * mismatch on a later check before treating it as death), else 'alive'.
 */
export function ownerState(tid: number, recordedStart: number): 'alive' | 'dead' | 'mismatch' {
  const start = readStartTime(tid);
  if (start === undefined) return 'dead';
  return start === recordedStart ? 'alive' : 'mismatch';
}

/** Whether process `pid` exists (a cheap kill(pid, 0)); EPERM means it exists. Non-positive pids count as alive. */
export function pidAlive(pid: number): boolean {
  if (pid <= 0) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
