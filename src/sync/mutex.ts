/**
 * The futex word protocol behind Lock and RLock, in shared memory.
 *
 * Cells (Int32): [WORD] 0 when free, else the owner's tid; [START] the
 * owner's start time; [COUNT] RLock recursion depth; [SLEEPERS] threads in
 * (or entering) a futex wait on WORD, kept by countedWait (see
 * counted-wait.ts): a release makes no system call when nobody sleeps, even
 * under contention with spinning waiters.
 *
 * Dead owners: a robust futex list would be ideal, but glibc owns the one
 * list the kernel allows per thread, and a JS thread cannot own a pthread
 * mutex across an await. Instead waiters sleep in slices and, between
 * slices, check the owner recorded in the word: if its tid is gone (or a
 * zombie), or is alive but started at another time than recorded (a reused
 * tid; confirmed on a second check so an owner that has CAS'd the word but
 * not yet stored its start time is not misjudged), the waiter takes the word
 * over with a CAS, and reports that the previous owner died.
 */
import { currentOwner, ownerState, type OwnerIdentity } from '../platform/owner-liveness.ts';
import { Deadline, OWNER_CHECK_SLICE_MS, type WaitPlan } from './wait-plan.ts';
import { countedWait, wakeCounted } from './counted-wait.ts';

export const WORD = 0;
export const START = 1;
export const COUNT = 2;
const SLEEPERS = 3;
/** Bytes a mutex needs in shared memory. */
export const MUTEX_BYTES = 16;

const TID_MASK = 0x3fffffff;
// Busy attempts before sleeping: hand-offs between processes on different
// cores are far cheaper to catch spinning than through a futex round trip.
const SPINS = 200;

/** How an acquire attempt ended. */
export type LockOutcome = 'acquired' | 'recovered' | 'timed-out';

/** The tid holding the mutex, or 0. */
export function ownerTid(cells: Int32Array): number {
  return Atomics.load(cells, WORD) & TID_MASK;
}

/** One attempt, no waiting. */
export function tryLock(cells: Int32Array, me: OwnerIdentity): boolean {
  if (Atomics.compareExchange(cells, WORD, 0, me.tid) !== 0) return false;
  Atomics.store(cells, START, me.start);
  return true;
}

/** The blocking acquire as a wait plan (see wait-plan.ts). */
export function* lockPlan(cells: Int32Array, timeoutMs: number): WaitPlan<LockOutcome> {
  const me = currentOwner();
  for (let i = 0; i < SPINS; i++) {
    if (Atomics.load(cells, WORD) === 0 && tryLock(cells, me)) return 'acquired';
  }
  const deadline = new Deadline(timeoutMs);
  let suspect = 0;
  for (;;) {
    const word = Atomics.load(cells, WORD);
    if (word === 0) {
      if (tryLock(cells, me)) return 'acquired';
      continue;
    }
    const wait = deadline.slice(OWNER_CHECK_SLICE_MS);
    if (wait <= 0) return 'timed-out';
    const result = yield* countedWait(cells, WORD, SLEEPERS, word, wait);
    if (result !== 'timed-out' || Atomics.load(cells, WORD) !== word) continue;
    const state = ownerState(word & TID_MASK, Atomics.load(cells, START));
    if (state === 'dead' || (state === 'mismatch' && suspect === word)) {
      if (Atomics.compareExchange(cells, WORD, word, me.tid) === word) {
        Atomics.store(cells, START, me.start);
        return 'recovered';
      }
    }
    suspect = state === 'mismatch' ? word : 0;
  }
}

/** Frees the word and wakes one sleeper if any may exist. */
export function unlock(cells: Int32Array): void {
  Atomics.store(cells, WORD, 0);
  wakeCounted(cells, WORD, SLEEPERS, 1);
}
