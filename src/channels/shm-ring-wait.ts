/**
 * Waiting on a ring's futex words, in a blocking form (sync APIs, e.g. in a
 * child) and a Promise form (never blocks the event loop).
 *
 * Both first spin briefly: a peer process on another core usually answers
 * within microseconds, and a futex sleep/wake costs ~13 µs round trip here,
 * so the spin is what makes a Pipe round trip fast. The spin is short so a
 * waiting process does not steal much CPU from others on a 2-core machine.
 *
 * Sleeping is split into slices; after each slice `onSlice` runs, which
 * repairs what dead processes left behind (ShmRing.recover) and lets Pipe
 * notice a dead peer — so no wait hangs forever on a killed process.
 */
import { Deadline, runAsync, runSync, type WaitPlan } from '../sync/wait-plan.ts';
import { countedWait } from '../sync/counted-wait.ts';
import { NOTHING } from './shm-ring-layout.ts';

/** How long to poll before sleeping on the futex. */
const SPIN_MS = 0.05;
/**
 * After MISSES_BEFORE_SHORT spins in a row ended without an answer (the
 * peer is slow, or shares our core with other load), spin only this long,
 * with a full spin every 16th wait to notice when the peer is fast again:
 * a spin that cannot succeed only takes CPU from the peer.
 */
const SHORT_SPIN_MS = 0.005;
const MISSES_BEFORE_SHORT = 3;
/** A sleep slice, after which dead processes are looked for. */
const SLICE_MS = 100;

/** One attempt: a result, or NOTHING to keep waiting. May throw to end the wait. */
export type Attempt<T> = () => T | typeof NOTHING;

/** The futex word (and its waiter counter at word + 1) that changes when an attempt may succeed. */
export interface WaitTarget {
  i32: Int32Array;
  word: number;
  onSlice?: () => void;
  /** Spins in a row that ended without success (maintained by the waits). */
  misses?: number;
}

/**
 * Polls until the word changes and `attempt` succeeds, for SPIN_MS (less
 * after repeated misses). The word is read before the first attempt: a
 * change that lands between an attempt and the read would otherwise go
 * unseen for the whole spin.
 */
function spin<T>(attempt: Attempt<T>, target: WaitTarget): T | typeof NOTHING {
  const { i32, word } = target;
  let seq = Atomics.load(i32, word);
  let result = attempt();
  if (result !== NOTHING) return result;
  const misses = target.misses ?? 0;
  const until = performance.now() + (misses < MISSES_BEFORE_SHORT || (misses & 15) === 0 ? SPIN_MS : SHORT_SPIN_MS);
  do {
    const now = Atomics.load(i32, word);
    if (now !== seq) {
      seq = now;
      result = attempt();
      if (result !== NOTHING) {
        target.misses = 0;
        return result;
      }
    }
  } while (performance.now() < until);
  target.misses = misses + 1;
  return NOTHING;
}

/**
 * The slow path of a wait, written once: spin, then sleep on the futex in
 * slices (counting ourselves in the waiter counter at word + 1, so wakers
 * can skip the syscall when nobody sleeps). runSync and runAsync drive it.
 */
function* sleepUntil<T>(attempt: Attempt<T>, target: WaitTarget, timeoutMs: number): WaitPlan<T | typeof NOTHING> {
  const deadline = new Deadline(timeoutMs);
  let result = spin(attempt, target);
  const { i32, word } = target;
  while (result === NOTHING) {
    const seq = Atomics.load(i32, word);
    result = attempt();
    if (result !== NOTHING) break;
    const slice = deadline.slice(SLICE_MS);
    if (slice <= 0) break;
    const outcome = yield* countedWait(i32, word, word + 1, seq, slice);
    if (outcome === 'timed-out') target.onSlice?.();
    result = attempt();
  }
  return result;
}

/** Blocks until `attempt` succeeds or `timeoutMs` passes (then NOTHING). */
export function waitSync<T>(attempt: Attempt<T>, target: WaitTarget, timeoutMs?: number | null): T | typeof NOTHING {
  const result = attempt();
  if (result !== NOTHING || timeoutMs === 0) return result;
  return runSync(sleepUntil(attempt, target, timeoutMs ?? Infinity));
}

/**
 * Resolves when `attempt` succeeds, or with NOTHING after `timeoutMs`;
 * rejects with the signal's reason when `signal` aborts.
 */
export async function waitAsync<T>(
  attempt: Attempt<T>,
  target: WaitTarget,
  timeoutMs?: number | null,
  signal?: AbortSignal,
): Promise<T | typeof NOTHING> {
  signal?.throwIfAborted();
  const result = attempt();
  if (result !== NOTHING || timeoutMs === 0) return result;
  return runAsync(sleepUntil(attempt, target, timeoutMs ?? Infinity), signal);
}
